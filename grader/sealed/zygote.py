"""The zygote: the process sandboxed children are forked from.

It is forked from the grading process as soon as torch and the child's code are imported, before
anything secret (tests, answers, a submission) is read, so each child starts in milliseconds with
torch loaded and finds nothing in its memory worth stealing; and torch is imported once per
grading process, not twice. What can be set up once for every child (the Landlock ruleset,
Python's directories, the libraries the kernel layers use) is set up here, once.

It serves one request at a time over a unix socket (grader.sealed.protocol): fork a child on the
two pipe ends it is handed, report the child's pid, and report every child's exit. It dies with
the grading process. Should it die first, `Zygote` starts a fresh one from a new interpreter
(`python -m grader.sealed.zygote FD`), never a fork of a grading process that has read secrets.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import time

from grader.sealed import child, protocol
from grader.sealed.wall import PR_SET_PDEATHSIG, Wall, _prctl

MAX_FDS = 2
SPAWN_WAIT = 30.0   # seconds for the zygote to report a child it forked


class ZygoteGone(Exception):
    """The zygote died: no child can be started from it."""


class Zygote:
    """The grading process's handle on its zygote."""

    def __init__(self, fresh=False):
        """Fork the zygote now (call this before reading anything secret), or with `fresh`
        start it from a new interpreter (for a process that has already read secrets)."""
        self.exits = {}          # pid -> exit code (negative: killed by that signal)
        self.process = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if fresh:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-m", "grader.sealed.zygote", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, start_new_session=True)
            self.pid = self.process.pid
        else:
            self.pid = os.fork()
            if self.pid == 0:
                ours.close()
                serve(theirs)  # never returns
        theirs.close()
        self.socket = ours

    def fileno(self):
        return self.socket.fileno()

    def spawn(self, job_id, limits, fds):
        """Start a child on `fds` (its requests' read end, its replies' write end); its pid."""
        try:
            socket.send_fds(self.socket, [protocol.control(protocol.start(job_id, limits))], fds)
            deadline = time.monotonic() + SPAWN_WAIT
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.socket], [], [], left)[0]:
                    raise ZygoteGone(f"the zygote started no child within {SPAWN_WAIT:g} s")
                message = self._receive(block=True)
                if message.get("started") == job_id:
                    return message["pid"]
                if message.get("failed") == job_id:
                    raise ZygoteGone(message["error"])
        except OSError as error:
            raise ZygoteGone(str(error)) from None

    def collect(self):
        """Read the exits the zygote has reported (non-blocking)."""
        try:
            while self._receive(block=False) is not None:
                pass
        except (OSError, ZygoteGone):
            pass

    def _receive(self, block):
        if not block and not select.select([self.socket], [], [], 0)[0]:
            return None
        data = self.socket.recv(protocol.MAX_CONTROL)
        if not data:
            raise ZygoteGone("the zygote closed its socket")
        message = protocol.read_control(data)
        if "exited" in message:
            self.exits[message["exited"]] = message["code"]
        return message

    def wait_exit(self, pid, timeout):
        """The exit code of child `pid` once the zygote has reaped it, or None after `timeout`
        seconds."""
        deadline = time.monotonic() + timeout
        while pid not in self.exits:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.socket], [], [], left)[0]:
                return None
            try:
                self._receive(block=True)
            except (OSError, ZygoteGone):
                return None
        return self.exits.pop(pid)

    @property
    def alive(self):
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        if self.process is not None:
            return self.process.poll() is None
        done, _ = os.waitpid(self.pid, os.WNOHANG)
        return done == 0

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        if self.process is not None:
            self.process.wait()
        else:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        self.socket.close()


def serve(sock):
    """The zygote's loop (in the zygote process); never returns."""
    try:
        keep = {0, 1, 2, sock.fileno()}
        for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
            if int(fd) not in keep:
                try:
                    os.close(int(fd))
                except OSError:
                    pass
        parent = os.getppid()
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(0)
        wall = Wall()
        child.prepare()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *args: None)
        signal.set_wakeup_fd(wake_w)
        while True:
            ready, _, _ = select.select([sock, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 4096)
                _reap(sock)
            if sock in ready:
                _start_child(sock, wall)
    finally:
        os._exit(0)


def _reap(sock):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        sock.send(protocol.control(protocol.exited(pid, code)))


def _start_child(sock, wall):
    data, fds, _, _ = socket.recv_fds(sock, protocol.MAX_CONTROL, MAX_FDS)
    if not data:
        os._exit(0)  # the grading process is gone
    message = protocol.read_control(data)
    job_id = message.get("start")
    if len(fds) != MAX_FDS:
        for fd in fds:
            os.close(fd)
        sock.send(protocol.control(protocol.failed(job_id, "two pipe ends were expected")))
        return
    try:
        pid = os.fork()
    except OSError as error:
        sock.send(protocol.control(protocol.failed(job_id, error)))
        pid = None
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        limits = dict(message["limits"], parent=os.getppid())
        child.main(wall, limits, fds[0], fds[1])  # never returns
    for fd in fds:
        os.close(fd)
    if pid is not None:
        sock.send(protocol.control(protocol.started(job_id, pid)))


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))

#!/usr/bin/env python3
"""Check the cockpit page (crates/cockpit/assets, docs/cockpit.md) in a real headless Chromium.

Run by the Rust end-to-end test as a subprocess; Python 3 standard library only (Debian 12's
python3), talking the Chrome DevTools Protocol to Debian's `chromium` over a WebSocket client
implemented here.

    python3 tests/browser/cockpit_check.py --url http://127.0.0.1:PORT/?district=210106 \\
        [--chromium /usr/bin/chromium] [--screenshot out.png] [--window 1920x1080] \\
        [--timeout 5] [--ready-file PATH] [--go-file PATH] \\
        [--expect-feed ID]... [--expect-count SCENARIO=N]... [--expect-grid CODE]... [--verbose]

1. starts `chromium --headless=new` with a fresh profile in a temporary directory and reads the
   DevTools address from its stderr (`DevTools listening on ws://...`);
2. opens a page target (Target.createTarget + Target.attachToTarget flatten=true) and records,
   from then on: console errors (console.error, uncaught exceptions, Log entries of level
   error), every request to a host other than 127.0.0.1, localhost, [::1] or the --url's own
   host (data:, blob: and about: URLs are fine), and the local requests that failed;
3. loads --url, waits for the load event, then until the page is ready: the connection
   indicator (`[data-testid=connection]`) says 实时 and the map has at least one `path`
   (polled every 100 ms, up to --ready-timeout, 20 s);
4. writes --ready-file (the test may now produce incidents), then waits for --go-file to exist
   (up to --go-timeout, 60 s; no --go-file: it goes at once);
5. from the moment the go-file appears, polls every 100 ms, all against the same clock and each
   for up to --timeout seconds: every --expect-feed ID (`[data-testid=feed] [data-id=ID]`) and
   every --expect-count SCENARIO=N (`[data-testid=scenario-counts] [data-scenario=SCENARIO]
   [data-field=today]` showing a number >= N; note the page refreshes these counts every 15 s)
   and every --expect-grid CODE (the map draws grid CODE, `.grid[data-code=CODE]`, shaded: a
   class q1..q5);
6. takes a PNG screenshot (--screenshot), closes Chromium (Browser.close, killed after 5 s) and
   removes the profile.

It prints one JSON object on stdout:

    {"console_errors": ["..."], "external_requests": ["https://..."],
     "failed_local_requests": [{"url": "...", "error": "net::ERR_ABORTED", "canceled": true}],
     "feed_seen_ms": {"ID": 123 or null}, "counts_seen_ms": {"SCENARIO": 456 or null},
     "grids_seen_ms": {"CODE": 789 or null}, "counts_final": {"SCENARIO": "41" or null},
     "map": {"title": "...", "grids": 52, "shaded_grids": ["CODE"]}, "href": "...",
     "screenshot": "path" or null, "title": "...", "ready_ms": 870, "viewport": [1920, 1080]}

`*_seen_ms` are milliseconds from the go-file's appearance to the poll that saw the item (null:
not within --timeout). It exits 0 whenever the check could run (the caller judges the figures);
otherwise it prints nothing on stdout, a message on stderr and exits 3 (Chromium could not be
started or reached), 4 (the page did not load or never became ready; the message has the
indicator's text and the last console errors), 5 (the go-file never appeared), 1 (another
failure, e.g. the renderer crashed) or 2 (bad arguments).

Chromium runs in its own process group and is killed with it on every way out (finally, atexit,
SIGTERM/SIGINT/SIGHUP; it also gets SIGKILL if this process dies), and this process reaps
Chromium's orphaned helpers itself (child subreaper), so no process or zombie is left behind.
Needs the Debian packages `chromium` and, for the Chinese text in the screenshot,
`fonts-noto-cjk`.
"""

import argparse
import atexit
import base64
import ctypes
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BROWSER = 3
EXIT_NOT_READY = 4
EXIT_NO_GO = 5

POLL_S = 0.1
PROFILE_PREFIX = "cockpit-check-"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
HARMLESS_SCHEMES = {"data", "blob", "about"}
VERBOSE = False
STARTED = time.monotonic()


def log(message):
    if VERBOSE:
        err(f"[cockpit_check {time.monotonic() - STARTED:7.3f}s] {message}")


def err(message):
    data = (message + "\n").encode("utf-8", "replace")
    try:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    except (OSError, ValueError):
        pass


class CheckError(Exception):
    """A failure that ends the check: `code` is the exit status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


# =============================================================================== WebSocket


class WebSocketClosed(ConnectionError):
    pass


class WebSocket:
    """A minimal RFC 6455 client: text messages, client masking, fragmentation, ping, close."""

    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    MAX_MESSAGE = 512 * 1024 * 1024

    def __init__(self, url, timeout):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "ws" or not parts.hostname or not parts.port:
            raise ValueError(f"not a ws://host:port/ URL: {url}")
        self.closed = False
        self._buf = bytearray()
        self._send_lock = threading.Lock()
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        # Timeouts bound every send and the handshake; the reader waits with select().
        self._sock.settimeout(timeout)
        self._handshake(parts, timeout)

    def _handshake(self, parts, timeout):
        key = base64.b64encode(os.urandom(16))
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}:{parts.port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n"
        )
        self._sock.sendall(request.encode("ascii"))
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buf:
            if len(self._buf) > 65536:
                raise OSError("WebSocket handshake: response headers too long")
            self._fill(deadline)
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        self._buf = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        if len(lines[0].split()) < 2 or lines[0].split()[1] != "101":
            raise OSError(f"WebSocket handshake refused: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(key + self.GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise OSError("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _fill(self, deadline=None, stop=None):
        """Reads more bytes into the buffer; waits at most until `deadline` (or while not `stop`)."""
        while True:
            if stop is not None and stop.is_set():
                raise WebSocketClosed("stopped")
            wait = 0.5
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise socket.timeout("WebSocket read timed out")
            ready, _, _ = select.select([self._sock], [], [], wait)
            if ready:
                break
        data = self._sock.recv(1 << 20)
        if not data:
            self.closed = True
            raise WebSocketClosed("connection closed by the peer")
        self._buf += data

    def _take(self, n, stop):
        while len(self._buf) < n:
            self._fill(stop=stop)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def send(self, opcode, payload):
        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack("!H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", n)
        mask = os.urandom(4)
        header += mask
        with self._send_lock:
            if self.closed and opcode != 0x8:
                raise WebSocketClosed("connection closed")
            self._sock.sendall(bytes(header) + _mask(payload, mask))

    def send_text(self, text):
        self.send(0x1, text.encode("utf-8"))

    def recv_message(self, stop):
        """The next text (or binary) message, as bytes. Answers pings; raises WebSocketClosed."""
        parts = []
        size = 0
        while True:
            b0, b1 = self._take(2, stop)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._take(2, stop))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._take(8, stop))
            mask = self._take(4, stop) if b1 & 0x80 else None
            if n > self.MAX_MESSAGE or size + n > self.MAX_MESSAGE:
                raise WebSocketClosed(f"message too large ({size + n} bytes)")
            payload = self._take(n, stop)
            if mask:
                payload = _mask(payload, mask)
            if opcode == 0x9:  # ping
                try:
                    self.send(0xA, payload)
                except OSError:
                    pass
                continue
            if opcode == 0xA:  # pong
                continue
            if opcode == 0x8:  # close: echo it, then stop
                if not self.closed:
                    try:
                        self.send(0x8, payload[:2])
                    except OSError:
                        pass
                self.closed = True
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WebSocketClosed(f"closed by the peer (code {code})")
            if opcode in (0x1, 0x2):
                parts, size = [payload], n
            elif opcode == 0x0:
                parts.append(payload)
                size += n
            else:
                raise WebSocketClosed(f"unexpected opcode {opcode}")
            if fin:
                return b"".join(parts)

    def close(self):
        if not self.closed:
            try:
                self.send(0x8, struct.pack("!H", 1000))
            except OSError:
                pass
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


def _mask(payload, mask):
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


# =============================================================================== CDP


class CDPError(Exception):
    pass


class CDP:
    """Commands with ids and answers, and events, over the browser's WebSocket."""

    def __init__(self, ws, on_event):
        self.ws = ws
        self.on_event = on_event
        self.closed_reason = None
        self._next_id = 0
        self._pending = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read(self):
        try:
            while True:
                message = json.loads(self.ws.recv_message(self._stop).decode("utf-8", "replace"))
                if "id" in message:
                    with self._lock:
                        waiter = self._pending.pop(message["id"], None)
                    if waiter:
                        waiter[1] = message
                        waiter[0].set()
                elif "method" in message:
                    try:
                        self.on_event(message["method"], message.get("params", {}), message.get("sessionId"))
                    except Exception as e:  # a recording bug must not stop the reader
                        log(f"event handler failed on {message['method']}: {e!r}")
        except (WebSocketClosed, OSError, ValueError) as e:
            self.closed_reason = str(e) or type(e).__name__
        finally:
            self.ws.closed = True
            with self._lock:
                pending, self._pending = self._pending, {}
            for waiter in pending.values():
                waiter[0].set()

    def send(self, method, params=None, session=None):
        """Sends a command; returns a waiter [event, answer] (the answer arrives later)."""
        with self._lock:
            if self.closed_reason is not None:
                raise CDPError(f"{method}: DevTools connection closed ({self.closed_reason})")
            self._next_id += 1
            ident = self._next_id
            waiter = [threading.Event(), None]
            self._pending[ident] = waiter
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            self.ws.send_text(json.dumps(message))
        except OSError as e:
            with self._lock:
                self._pending.pop(ident, None)
            raise CDPError(f"{method}: cannot send ({e})") from e
        return ident, waiter

    def call(self, method, params=None, session=None, timeout=10.0):
        ident, waiter = self.send(method, params, session)
        if not waiter[0].wait(timeout):
            with self._lock:
                self._pending.pop(ident, None)
            raise CDPError(f"{method}: no answer within {timeout:g} s")
        answer = waiter[1]
        if answer is None:
            raise CDPError(f"{method}: DevTools connection closed ({self.closed_reason})")
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error'].get('message')} {answer['error'].get('data', '')}".strip())
        return answer.get("result", {})

    def close(self):
        self._stop.set()
        self.ws.close()
        self._reader.join(2)


# =============================================================================== Recording


class Recorder:
    """What the page does, from the CDP events of its session (called on the reader thread)."""

    def __init__(self, page_url):
        self.lock = threading.Lock()
        self.session = None
        self.page_host = (urllib.parse.urlsplit(page_url).hostname or "").lower()
        self.console_errors = []
        self.external_requests = []
        self.failed_local_requests = []
        self.request_urls = {}
        self.load_fired = threading.Event()
        self.crashed = None
        self.recording = True
        self.cdp = None

    def is_local(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() in HARMLESS_SCHEMES:
            return True
        host = (parts.hostname or "").lower()
        return host in LOCAL_HOSTS or (host != "" and host == self.page_host)

    def __call__(self, method, params, session):
        if method == "Target.targetCrashed" or (method == "Inspector.targetCrashed" and session == self.session):
            self.crashed = "the page's renderer crashed"
            self._error("renderer crashed")
            return
        if method == "Target.detachedFromTarget" and params.get("sessionId") == self.session:
            self.crashed = self.crashed or "the page target was detached"
            return
        if session is None or session != self.session:
            return
        if method == "Page.loadEventFired":
            self.load_fired.set()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(_remote_text(a) for a in params.get("args", []))
            self._error(f"console.{params.get('type')}: {text}{_where(params.get('stackTrace'))}")
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            exc = d.get("exception") or {}
            text = exc.get("description") or _remote_text(exc) if exc else d.get("text", "exception")
            where = f" ({d['url']}:{d.get('lineNumber', 0) + 1})" if d.get("url") else ""
            self._error(f"uncaught: {text}{where}")
        elif method == "Log.entryAdded":
            e = params.get("entry", {})
            if e.get("level") == "error":
                where = f" ({e['url']})" if e.get("url") else ""
                self._error(f"{e.get('source', 'log')}: {e.get('text', '')}{where}")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            with self.lock:
                self.request_urls[params.get("requestId")] = url
                if self.recording and not self.is_local(url) and url not in self.external_requests:
                    self.external_requests.append(url)
        elif method == "Network.responseReceived":
            r = params.get("response", {})
            status = r.get("status", 0)
            if status >= 400 and self.is_local(r.get("url", "")):
                self._failed({"url": r.get("url"), "error": f"HTTP {status}", "canceled": False})
        elif method == "Network.loadingFailed":
            with self.lock:
                url = self.request_urls.get(params.get("requestId"), "")
            if url and self.is_local(url):
                self._failed(
                    {"url": url, "error": params.get("errorText", ""), "canceled": bool(params.get("canceled"))}
                )
        elif method == "Page.javascriptDialogOpening":
            # A dialog would block the page (and every poll): record it and dismiss it.
            self._error(f"dialog ({params.get('type')}): {params.get('message')}")
            if self.cdp is not None:
                try:
                    self.cdp.send("Page.handleJavaScriptDialog", {"accept": True}, session=self.session)
                except (CDPError, OSError):
                    pass

    def _error(self, text):
        with self.lock:
            if self.recording:
                self.console_errors.append(text)

    def _failed(self, item):
        with self.lock:
            if self.recording:
                self.failed_local_requests.append(item)

    def snapshot(self):
        with self.lock:
            self.recording = False
            return list(self.console_errors), list(self.external_requests), list(self.failed_local_requests)


def _remote_text(obj):
    if "value" in obj:
        v = obj["value"]
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    preview = obj.get("preview")
    if obj.get("subtype") != "error" and preview and "properties" in preview:
        items = [f"{p.get('name')}: {p.get('value')}" for p in preview["properties"]]
        more = ", …" if preview.get("overflow") else ""
        if preview.get("subtype") == "array":
            return "[" + ", ".join(str(p.get("value")) for p in preview["properties"]) + more + "]"
        return "{" + ", ".join(items) + more + "}"
    return str(obj.get("unserializableValue") or obj.get("description") or obj.get("type", ""))


def _where(stack):
    frames = (stack or {}).get("callFrames") or []
    if not frames or not frames[0].get("url"):
        return ""
    f = frames[0]
    return f" ({f['url']}:{f.get('lineNumber', 0) + 1})"


# =============================================================================== Chromium


class Chromium:
    """The browser process: started in its own process group, always stopped with it."""

    def __init__(self, path, window, verbose):
        self.path = path
        self.window = window
        self.verbose = verbose
        self.proc = None
        self.profile = None
        self.ws_url = None
        self.stderr_tail = []
        self._url_ready = threading.Event()
        self._stopped = False
        self._drain = None
        self._libc = None
        try:
            self._libc = ctypes.CDLL(None, use_errno=True)
            # Chromium's helpers outlive its main process for a moment when it is killed: make
            # them ours (PR_SET_CHILD_SUBREAPER) so we reap them instead of leaving zombies.
            self._libc.prctl(36, 1, 0, 0, 0)
        except (OSError, AttributeError):
            self._libc = None

    def _preexec(self):
        if self._libc is not None:
            self._libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with us

    def start(self, timeout):
        found = shutil.which(self.path)
        if not found:
            raise CheckError(
                EXIT_BROWSER, f"chromium not found or not executable: {self.path} (Debian: apt-get install chromium)"
            )
        self.path = found
        remove_stale_profiles()
        self.profile = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-")
        w, h = self.window
        args = [
            self.path,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--disable-default-apps",
            "--disable-extensions",
            "--mute-audio",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={w},{h}",
            "about:blank",
        ]
        log("starting " + " ".join(args))
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=self._preexec,
                close_fds=True,
            )
        except OSError as e:
            raise CheckError(EXIT_BROWSER, f"cannot start chromium ({self.path}): {e}") from e
        self._drain = threading.Thread(target=self._drain_stderr, name="chromium-stderr", daemon=True)
        self._drain.start()
        if not self._url_ready.wait(timeout) or not self.ws_url:
            status = self.proc.poll()
            why = f"exited with status {status}" if status is not None else f"no DevTools address within {timeout:g} s"
            raise CheckError(EXIT_BROWSER, f"chromium could not be started: {why}; its stderr:\n" + self.tail())
        log(f"DevTools at {self.ws_url}")
        return self.ws_url

    def _drain_stderr(self):
        pattern = re.compile(r"DevTools listening on (ws://\S+)")
        try:
            for raw in iter(self.proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if not line or ":ERROR:dbus/" in line:
                    continue  # no D-Bus in a container: noise
                self.stderr_tail = (self.stderr_tail + [line])[-40:]
                if self.verbose:
                    log(f"chromium: {line}")
                m = pattern.search(line)
                if m and not self.ws_url:
                    self.ws_url = m.group(1)
                    self._url_ready.set()
        except (OSError, ValueError):
            pass
        finally:
            self._url_ready.set()  # chromium is gone: nobody needs to wait for the address

    def tail(self):
        return "\n".join("    " + line for line in self.stderr_tail[-20:]) or "    (nothing)"

    def stop(self, cdp=None, grace=5.0):
        """Browser.close, then SIGKILL to the whole process group after `grace` s; reaps all."""
        if self._stopped:
            return
        self._stopped = True
        proc = self.proc
        if proc is not None:
            asked = False
            if cdp is not None and proc.poll() is None:
                try:
                    cdp.send("Browser.close")
                    asked = True
                except (CDPError, OSError):
                    pass
            try:
                proc.wait(grace if asked else 0.2)
            except subprocess.TimeoutExpired:
                log("chromium did not close in time: killing it")
            self._kill_group(proc.pid)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            # What is left: the group's stragglers, and helpers that left the group, adopted by
            # us (child subreaper) once their parent died. Kill and reap them all.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                self._kill_group(proc.pid)
                children = self._children()
                for pid in children:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                self._reap_orphans()
                if not self._group_alive(proc.pid) and not children:
                    break
                time.sleep(0.05)
            # The stderr reader ends at EOF, once every process holding the pipe is gone.
            if self._drain is not None:
                self._drain.join(2)
                if not self._drain.is_alive():
                    proc.stderr.close()
        if cdp is not None:
            try:
                cdp.close()
            except OSError:
                pass
        if self.profile:
            for _ in range(10):
                shutil.rmtree(self.profile, ignore_errors=True)
                if not os.path.exists(self.profile):
                    break
                time.sleep(0.1)

    @staticmethod
    def _kill_group(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _group_alive(pgid):
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    @staticmethod
    def _children():
        """The pids whose parent is this process (chromium's orphans, once adopted)."""
        me = os.getpid()
        pids = []
        try:
            entries = os.listdir("/proc")
        except OSError:
            return pids
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 1 and int(fields[1]) == me:
                pids.append(int(entry))
        return pids

    @staticmethod
    def _reap_orphans():
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return


# =============================================================================== The check

READY_JS = """(() => {
  const c = document.querySelector('[data-testid=connection]');
  return {
    connection: c ? c.textContent.trim() : null,
    paths: document.querySelectorAll('[data-testid=map] path').length,
    href: location.href,
    readyState: document.readyState,
  };
})()"""

WATCH_JS = """((ids, scenarios) => {
  const feed = document.querySelector('[data-testid=feed]');
  const seen = {};
  for (const id of ids) {
    seen[id] = !!(feed && feed.querySelector('[data-id="' + CSS.escape(id) + '"]'));
  }
  const counts = {};
  for (const s of scenarios) {
    const cell = document.querySelector('[data-testid=scenario-counts] [data-scenario="' + CSS.escape(s) +
      '"] [data-field=today]');
    counts[s] = cell ? cell.textContent.trim() : null;
  }
  const grids = [...document.querySelectorAll('[data-testid=map] .grid')];
  const title = document.getElementById('map-title');
  const map = {
    title: title ? title.textContent.trim() : null,
    grids: grids.length,
    shaded_grids: grids.filter((g) => /\\bq[1-5]\\b/.test(g.getAttribute('class') || '')).map((g) => g.dataset.code),
  };
  return { seen, counts, map, href: location.href, title: document.title, viewport: [innerWidth, innerHeight] };
})(%s, %s)"""


def count_value(text):
    """The number a count cell shows ("1,234" -> 1234), or None ("—", empty, missing)."""
    if text is None:
        return None
    t = text.strip()
    if not re.fullmatch(r"\d[\d,\s\u00a0\u202f]*", t):
        return None
    return int(re.sub(r"\D", "", t))


class Check:
    def __init__(self, args):
        self.args = args
        self.browser = Chromium(args.chromium, args.window, args.verbose)
        self.recorder = Recorder(args.url)
        self.cdp = None
        self.session = None

    def evaluate(self, expression, timeout=5.0):
        result = self.cdp.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": False},
            session=self.session,
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            raise CDPError((d.get("exception") or {}).get("description") or d.get("text", "evaluation failed"))
        return result.get("result", {}).get("value")

    def _alive(self):
        if self.recorder.crashed:
            raise CheckError(EXIT_FAILED, f"{self.recorder.crashed}; console errors: {self.errors_tail()}")
        if self.cdp.closed_reason is not None:
            raise CheckError(
                EXIT_FAILED,
                f"lost the DevTools connection ({self.cdp.closed_reason}); chromium's stderr:\n{self.browser.tail()}",
            )

    def errors_tail(self, n=10):
        with self.recorder.lock:
            errors = self.recorder.console_errors[-n:]
        return json.dumps(errors, ensure_ascii=False) if errors else "none"

    def open_page(self):
        args = self.args
        ws_url = self.browser.start(args.start_timeout)
        try:
            ws = WebSocket(ws_url, timeout=10)
        except (OSError, ValueError) as e:
            raise CheckError(EXIT_BROWSER, f"cannot connect to chromium's DevTools at {ws_url}: {e}") from e
        self.cdp = CDP(ws, self.recorder)
        self.recorder.cdp = self.cdp
        w, h = args.window
        try:
            target = self.cdp.call("Target.createTarget", {"url": "about:blank"})
            attached = self.cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        except CDPError as e:
            raise CheckError(EXIT_BROWSER, f"cannot open a page in chromium: {e}") from e
        self.session = attached["sessionId"]
        self.recorder.session = self.session
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable", "Inspector.enable"):
            self.cdp.call(method, session=self.session)
        self.cdp.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False},
            session=self.session,
        )
        log(f"page target {target['targetId']} attached as session {self.session}")

    def load_and_wait_ready(self):
        args = self.args
        started = time.monotonic()
        deadline = started + args.ready_timeout
        self.recorder.load_fired.clear()
        try:
            nav = self.cdp.call("Page.navigate", {"url": args.url}, session=self.session, timeout=args.ready_timeout)
        except CDPError as e:
            raise CheckError(EXIT_NOT_READY, f"cannot load {args.url}: {e}") from e
        if nav.get("errorText"):
            raise CheckError(EXIT_NOT_READY, f"cannot load {args.url}: {nav['errorText']} (is the cockpit listening?)")
        while not self.recorder.load_fired.wait(POLL_S):
            self._alive()
            if time.monotonic() > deadline:
                raise CheckError(EXIT_NOT_READY, self.not_ready_message("no load event", None))
        log(f"load event after {(time.monotonic() - started) * 1000:.0f} ms")

        state = None
        while True:
            self._alive()
            tick = time.monotonic()
            try:
                state = self.evaluate(READY_JS, timeout=max(0.5, min(5.0, deadline - tick))) or state
            except CDPError as e:
                log(f"readiness poll failed: {e}")
            if state and state.get("connection") == "实时" and (state.get("paths") or 0) > 0:
                ready_ms = round((time.monotonic() - started) * 1000)
                log(f"ready after {ready_ms} ms: {state}")
                return ready_ms
            if time.monotonic() >= deadline:
                raise CheckError(EXIT_NOT_READY, self.not_ready_message("not ready", state))
            time.sleep(max(0.0, POLL_S - (time.monotonic() - tick)))

    def not_ready_message(self, what, state):
        state = state or {}
        with self.recorder.lock:
            failed = self.recorder.failed_local_requests[-10:]
        return (
            f"the cockpit page never became ready within {self.args.ready_timeout:g} s ({what}): "
            f"{self.args.url}\n"
            f"  [data-testid=connection] text: {state.get('connection')!r} (wanted '实时')\n"
            f"  map paths: {state.get('paths')}, document.readyState: {state.get('readyState')}, "
            f"location: {state.get('href')}\n"
            f"  last console errors: {self.errors_tail()}\n"
            f"  failed local requests: {json.dumps(failed, ensure_ascii=False) if failed else 'none'}"
        )

    def wait_go(self):
        args = self.args
        if args.ready_file:
            write_atomically(args.ready_file, json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
            log(f"wrote the ready-file {args.ready_file}")
        if not args.go_file:
            return time.monotonic()
        deadline = time.monotonic() + args.go_timeout
        while not os.path.exists(args.go_file):
            self._alive()
            if time.monotonic() >= deadline:
                raise CheckError(EXIT_NO_GO, f"the go-file {args.go_file} did not appear within {args.go_timeout:g} s")
            time.sleep(0.02)
        t0 = time.monotonic()
        log(f"go-file {args.go_file} is there: measuring")
        return t0

    def watch(self, t0):
        args = self.args
        ids = list(dict.fromkeys(args.expect_feed))
        wanted = dict(args.expect_count)
        feed_seen = {i: None for i in ids}
        counts_seen = {s: None for s in wanted}
        grids_seen = {g: None for g in dict.fromkeys(args.expect_grid)}
        expression = WATCH_JS % (json.dumps(ids), json.dumps(list(wanted)))
        deadline = t0 + args.timeout
        while True:
            self._alive()
            tick = time.monotonic()
            try:
                result = self.evaluate(expression, timeout=max(0.5, min(5.0, deadline - tick + 1)))
            except CDPError as e:
                log(f"poll failed: {e}")
                result = None
            if result:
                ms = round((time.monotonic() - t0) * 1000)
                for i in ids:
                    if feed_seen[i] is None and result["seen"].get(i):
                        feed_seen[i] = ms
                        log(f"feed item {i} after {ms} ms")
                for s, n in wanted.items():
                    v = count_value(result["counts"].get(s))
                    if counts_seen[s] is None and v is not None and v >= n:
                        counts_seen[s] = ms
                        log(f"count {s} = {v} >= {n} after {ms} ms")
                for g in grids_seen:
                    if grids_seen[g] is None and g in result["map"]["shaded_grids"]:
                        grids_seen[g] = ms
                        log(f"grid {g} shaded after {ms} ms")
            done = all(v is not None for seen in (feed_seen, counts_seen, grids_seen) for v in seen.values())
            if done or time.monotonic() >= deadline:
                break
            time.sleep(max(0.0, POLL_S - (time.monotonic() - tick)))
        final = self.evaluate(expression)
        return feed_seen, counts_seen, grids_seen, final

    def screenshot(self):
        path = self.args.screenshot
        if not path:
            return None
        try:
            shot = self.cdp.call("Page.captureScreenshot", {"format": "png"}, session=self.session, timeout=30)
            data = base64.b64decode(shot["data"])
            write_atomically(path, data)
        except (CDPError, KeyError, ValueError, OSError) as e:
            err(f"cockpit_check: screenshot failed: {e}")
            return None
        log(f"screenshot {path} ({len(data)} bytes)")
        return path

    def run(self):
        self.open_page()
        ready_ms = self.load_and_wait_ready()
        t0 = self.wait_go()
        feed_seen, counts_seen, grids_seen, final = self.watch(t0)
        shot = self.screenshot()
        console_errors, external, failed = self.recorder.snapshot()
        return {
            "console_errors": console_errors,
            "external_requests": external,
            "failed_local_requests": failed,
            "feed_seen_ms": feed_seen,
            "counts_seen_ms": counts_seen,
            "grids_seen_ms": grids_seen,
            "counts_final": final["counts"],
            "map": final["map"],
            "href": final["href"],
            "screenshot": shot,
            "title": final["title"],
            "ready_ms": ready_ms,
            "viewport": final["viewport"],
        }

    def cleanup(self):
        self.browser.stop(self.cdp)


def remove_stale_profiles():
    """Profiles of checkers that were killed (SIGKILL leaves no chance to clean up)."""
    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        m = re.fullmatch(re.escape(PROFILE_PREFIX) + r"(\d+)-\w+", name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # its checker still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def write_atomically(path, data):
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


# =============================================================================== Arguments


def parse_args(argv):
    def window(text):
        m = re.fullmatch(r"(\d{2,5})[xX,](\d{2,5})", text)
        if not m:
            raise argparse.ArgumentTypeError(f"want WIDTHxHEIGHT such as 1920x1080, got {text!r}")
        return int(m.group(1)), int(m.group(2))

    def expect_count(text):
        m = re.fullmatch(r"([a-z][a-z0-9_]*)=(\d+)", text)
        if not m:
            raise argparse.ArgumentTypeError(f"want SCENARIO=N such as emergency=1, got {text!r}")
        return m.group(1), int(m.group(2))

    def seconds(text):
        try:
            v = float(text)
        except ValueError:
            v = -1
        if not v > 0:
            raise argparse.ArgumentTypeError(f"want a number of seconds > 0, got {text!r}")
        return v

    p = argparse.ArgumentParser(description="Check the cockpit page in headless Chromium (see the module doc).")
    p.add_argument("--url", required=True, help="the cockpit page, e.g. http://127.0.0.1:PORT/?district=210106")
    p.add_argument("--chromium", default="/usr/bin/chromium", help="the browser (default /usr/bin/chromium)")
    p.add_argument("--screenshot", help="PNG file to write after the check")
    p.add_argument("--window", type=window, default=(1920, 1080), help="WIDTHxHEIGHT (default 1920x1080)")
    p.add_argument("--timeout", type=seconds, default=5.0, help="seconds each expectation may take (default 5)")
    p.add_argument("--ready-file", help="written once the page is ready")
    p.add_argument("--go-file", help="measuring starts when this file exists")
    p.add_argument("--expect-feed", action="append", default=[], metavar="ID", help="a feed item's data-id")
    p.add_argument("--expect-count", action="append", default=[], type=expect_count, metavar="SCENARIO=N")
    p.add_argument("--expect-grid", action="append", default=[], metavar="CODE", help="a grid the map shades")
    p.add_argument("--ready-timeout", type=seconds, default=20.0, help="load + ready budget (default 20 s)")
    p.add_argument("--go-timeout", type=seconds, default=60.0, help="wait for the go-file (default 60 s)")
    p.add_argument("--start-timeout", type=seconds, default=20.0, help="chromium start-up (default 20 s)")
    p.add_argument("-v", "--verbose", action="store_true", help="progress and chromium's stderr on stderr")
    args = p.parse_args(argv)
    if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
        p.error(f"--url must be an http(s) URL, got {args.url!r}")
    return args


def main(argv=None):
    global VERBOSE
    args = parse_args(argv)
    VERBOSE = args.verbose

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    check = Check(args)
    atexit.register(check.cleanup)
    code = EXIT_FAILED
    output = None
    try:
        output = check.run()
        code = EXIT_OK
    except CheckError as e:
        err(f"cockpit_check: {e}")
        code = e.code
    except CDPError as e:
        err(f"cockpit_check: DevTools failure: {e}\nchromium's stderr:\n{check.browser.tail()}")
        code = EXIT_FAILED
    except KeyboardInterrupt:
        err("cockpit_check: interrupted")
        code = 128 + signal.SIGINT
    finally:
        # No signal may cut the clean-up short: chromium must never be left behind.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        check.cleanup()
    if output is not None:
        sys.stdout.buffer.write(json.dumps(output, ensure_ascii=False).encode("utf-8") + b"\n")
        sys.stdout.buffer.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())

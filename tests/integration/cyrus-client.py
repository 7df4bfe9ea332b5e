#!/usr/bin/env python3
"""Small LMTP / IMAP / HTTP client for the private Cyrus of the integration
tests (tests/integration/lib-cyrus.sh).  Python standard library only.

Every password is "secret" (lib-cyrus.sh sets it for admin and each user).
Output is meant for shell tests: one fact per line on stdout, details and
errors on stderr, exit status 0 only on success.

  deliver --socket S --from ADDR --to USER [--to USER2...] [--timeout SECS] FILE
      LMTP delivery (FILE "-" = stdin).  Prints the status code per recipient,
      one line each, in --to order (e.g. "250"; a RCPT refusal gives its own
      code); exit 0 when all are 2xx.  stderr: the replies and the elapsed
      seconds ("elapsed=0.123").
  fetch --port P --user U [--folder INBOX] [--annotations E1,E2...]
      One line per message, by UID:
        uid=N flags=<flags sorted, space separated> E1=<value.shared> ...
      (an absent/NIL value prints as empty).  \\Recent is left out.
  append --port P --user U --folder F [--flags '(\\Seen)'] FILE
      IMAP APPEND; prints the tagged answer ("OK [APPENDUID ...] ..." or
      "NO ..."); exit 0 on OK.
  create --port P [--user admin] MAILBOX...
      IMAP CREATE each mailbox (e.g. user/alice user/alice/Sent).
  imap --port P --user U [--folder F] COMMAND [ARG...]
      Any other command in the selected folder, e.g.
      "UID STORE 1 -FLAGS (x)" as: imap ... -- UID STORE 1 -FLAGS '(x)'
      ("--" when a word starts with "-"); also UID XRUNANNOTATOR N.
      Prints the status (OK/NO), then the untagged data, literals inline.
  caldav-get --port P --user U --path PATH
      HTTP GET with Basic auth; prints the body; exit 0 on 200.
  propfind --port P --user U --path PATH [--depth 1]
      HTTP PROPFIND (allprop); prints the status line then the body;
      exit 0 on 207 (this also provisions a user's calendars in Cyrus).
  wait [--socket S] [--port P] [--http-port H] [--pid PID] [--timeout 10]
      Wait until the LMTP socket and the IMAP port greet and the HTTP port
      accepts a request; fails early when PID has exited.
      stderr: elapsed seconds.
"""

import argparse
import base64
import http.client
import imaplib
import os
import re
import smtplib
import socket
import sys
import time

PASSWORD = "secret"
HOST = "127.0.0.1"


def err(msg):
    print(msg, file=sys.stderr)


def read_message(path):
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    # CRLF line ends on the wire, whatever the file has
    return re.sub(rb"\r?\n", b"\r\n", data)


# --- LMTP ---------------------------------------------------------------------

def cmd_deliver(a):
    data = read_message(a.file)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    # dot-stuffing
    data = re.sub(rb"(?m)^\.", b"..", data)
    start = time.monotonic()
    codes = {}
    try:
        lmtp = smtplib.LMTP(a.socket, timeout=a.timeout)
        code, msg = lmtp.ehlo()
        if code != 250:
            err("LHLO: %d %s" % (code, msg.decode(errors="replace")))
            return 1
        code, msg = lmtp.mail(a.sender)
        if code != 250:
            err("MAIL FROM: %d %s" % (code, msg.decode(errors="replace")))
            for r in a.to:
                print(code)
            return 1
        accepted = []
        for r in a.to:
            code, msg = lmtp.rcpt(r)
            err("RCPT %s: %d %s" % (r, code, msg.decode(errors="replace")))
            if code in (250, 251):
                accepted.append(r)
            else:
                codes[r] = code
        if accepted:
            lmtp.putcmd("data")
            code, msg = lmtp.getreply()
            if code != 354:
                err("DATA: %d %s" % (code, msg.decode(errors="replace")))
                for r in accepted:
                    codes[r] = code
            else:
                lmtp.send(data + b".\r\n")
                # LMTP: one reply per accepted recipient (RFC 2033)
                for r in accepted:
                    code, msg = lmtp.getreply()
                    err("%s: %d %s" % (r, code, msg.decode(errors="replace")))
                    codes[r] = code
        try:
            lmtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
    except (smtplib.SMTPException, OSError) as e:
        err("LMTP error: %s" % e)
        err("elapsed=%.3f" % (time.monotonic() - start))
        for r in a.to:
            print(codes.get(r, 0))
        return 1
    err("elapsed=%.3f" % (time.monotonic() - start))
    ok = True
    for r in a.to:
        print(codes[r])
        ok = ok and 200 <= codes[r] < 300
    return 0 if ok else 1


# --- IMAP response parsing ------------------------------------------------------

class Lit:
    """A literal taken out of imaplib's (prefix, literal) tuples."""

    def __init__(self, data):
        self.data = data


def segments(data):
    """imaplib's response list -> one list per response line of bytes
    chunks and Lit objects: a tuple is (line up to and including {n},
    literal); the text after the literal is the next element."""
    lines = []
    cur = None
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            head, lit = item
            if cur is None:
                cur = []
                lines.append(cur)
            cur.append(re.sub(rb"\{\d+\}$", b"", head))
            cur.append(Lit(lit))
        else:
            if cur is None:
                lines.append([item])
            else:
                cur.append(item)
                # the text after a literal ends the line unless it ends
                # in another literal (then imaplib makes a new tuple)
            cur = None
    return lines


TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


def tokenize(chunks):
    """Parse bytes chunks and literals into nested lists of bytes atoms /
    strings (NIL becomes None)."""
    stack = [[]]
    for ch in chunks:
        if isinstance(ch, Lit):
            stack[-1].append(ch.data)
            continue
        pos = 0
        while pos < len(ch):
            m = TOKEN.match(ch, pos)
            if not m:
                if ch[pos:].strip() == b"":
                    break
                raise ValueError("cannot parse %r" % ch[pos:])
            pos = m.end()
            if m.group(1):
                stack.append([])
            elif m.group(2):
                done = stack.pop()
                stack[-1].append(done)
            elif m.group(3) is not None:
                stack[-1].append(re.sub(rb"\\(.)", rb"\1", m.group(3)))
            else:
                atom = m.group(4)
                stack[-1].append(None if atom.upper() == b"NIL" else atom)
    if len(stack) != 1:
        raise ValueError("unbalanced parentheses")
    return stack[0]


def pairs(lst):
    return {(lst[i].upper() if isinstance(lst[i], bytes) else lst[i]): lst[i + 1]
            for i in range(0, len(lst) - 1, 2)}


def text(b):
    if b is None:
        return ""
    return b.decode("utf-8", errors="replace").replace("\r", "\\r").replace("\n", "\\n")


def imap_login(a, user=None):
    m = imaplib.IMAP4(HOST, a.port, timeout=30)
    m.login(user or a.user, PASSWORD)
    return m


def imap_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cmd_fetch(a):
    entries = [e for e in (a.annotations or "").split(",") if e]
    m = imap_login(a)
    try:
        typ, data = m.select(imap_quote(a.folder), readonly=True)
        if typ != "OK":
            err("SELECT %s: %s %s" % (a.folder, typ, data))
            return 1
        items = "(UID FLAGS)"
        if entries:
            items = "(UID FLAGS ANNOTATION ((%s) (value.shared)))" % " ".join(entries)
        typ, data = m.uid("FETCH", "1:*", items)
        if typ != "OK":
            err("UID FETCH: %s %s" % (typ, data))
            return 1
        msgs = []
        for line in segments(data):
            toks = tokenize(line)
            # <seq> (UID n FLAGS (...) ANNOTATION (...))
            if len(toks) < 2 or not isinstance(toks[1], list):
                continue
            d = pairs(toks[1])
            uid = int(d[b"UID"])
            flags = sorted(text(f) for f in (d.get(b"FLAGS") or [])
                           if f is not None and f.lower() != b"\\recent")
            values = {}
            ann = d.get(b"ANNOTATION") or []
            for i in range(0, len(ann) - 1, 2):
                attrs = pairs(ann[i + 1] or [])
                values[text(ann[i])] = text(attrs.get(b"VALUE.SHARED"))
            out = "uid=%d flags=%s" % (uid, " ".join(flags))
            for e in entries:
                out += " %s=%s" % (e, values.get(e, ""))
            msgs.append((uid, out))
        for _, out in sorted(msgs):
            print(out)
        return 0
    finally:
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def cmd_append(a):
    data = read_message(a.file)
    m = imap_login(a)
    try:
        typ, resp = m.append(imap_quote(a.folder), a.flags, None, data)
    except imaplib.IMAP4.error as e:
        print("BAD %s" % e)
        return 1
    finally:
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    print("%s %s" % (typ, " ".join(text(r) for r in resp if isinstance(r, bytes))))
    return 0 if typ == "OK" else 1


def cmd_create(a):
    m = imap_login(a)
    rc = 0
    try:
        for mb in a.mailbox:
            typ, resp = m.create(imap_quote(mb))
            print("%s %s %s" % (mb, typ, " ".join(text(r) for r in resp
                                                   if isinstance(r, bytes))))
            if typ != "OK":
                rc = 1
    finally:
        m.logout()
    return rc


def cmd_imap(a):
    imaplib.Commands.setdefault("XRUNANNOTATOR", ("SELECTED",))
    m = imap_login(a)
    try:
        if a.folder:
            typ, data = m.select(imap_quote(a.folder))
            if typ != "OK":
                err("SELECT %s: %s %s" % (a.folder, typ, data))
                return 1
        words = a.command
        try:
            if words[0].upper() == "UID":
                typ, data = m.uid(*words[1:])
            else:
                name = words[0].upper()
                imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))
                typ, data = m._simple_command(name, *words[1:])
                typ, data = m._untagged_response(typ, data, name)
        except imaplib.IMAP4.error as e:
            print("BAD %s" % e)
            return 1
        print(typ)
        for line in segments(data):
            print(" ".join(text(c.data) if isinstance(c, Lit) else text(c)
                           for c in line))
        return 0 if typ == "OK" else 1
    finally:
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


# --- HTTP -----------------------------------------------------------------------

def http_request(a, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, a.port, timeout=30)
    auth = base64.b64encode(("%s:%s" % (a.user, PASSWORD)).encode()).decode()
    h = {"Authorization": "Basic " + auth}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.reason, data


def cmd_caldav_get(a):
    status, reason, data = http_request(a, "GET", a.path)
    err("HTTP %d %s" % (status, reason))
    sys.stdout.buffer.write(data)
    return 0 if status == 200 else 1


PROPFIND_BODY = (b'<?xml version="1.0" encoding="utf-8"?>\n'
                 b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>\n')


def cmd_propfind(a):
    status, reason, data = http_request(
        a, "PROPFIND", a.path, PROPFIND_BODY,
        {"Depth": a.depth, "Content-Type": "application/xml; charset=utf-8"})
    print("%d %s" % (status, reason))
    sys.stdout.buffer.write(data)
    if data and not data.endswith(b"\n"):
        print()
    return 0 if status == 207 else 1


# --- readiness -------------------------------------------------------------------

def greets(family, addr, expect):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(addr)
        line = s.recv(512)
        return line.startswith(expect)
    except OSError:
        return False
    finally:
        s.close()


def http_answers(port):
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("OPTIONS", "/")
        conn.getresponse().read()
        conn.close()
        return True
    except (OSError, http.client.HTTPException):
        return False


def cmd_wait(a):
    start = time.monotonic()
    todo = []
    if a.socket:
        todo.append(("lmtp", lambda: greets(socket.AF_UNIX, a.socket, b"220")))
    if a.port:
        todo.append(("imap", lambda: greets(socket.AF_INET, (HOST, a.port), b"* OK")))
    if a.http_port:
        todo.append(("http", lambda: http_answers(a.http_port)))
    while todo:
        if a.pid:
            try:
                os.kill(a.pid, 0)
            except ProcessLookupError:
                err("process %d exited" % a.pid)
                return 1
        todo = [t for t in todo if not t[1]()]
        if not todo:
            break
        if time.monotonic() - start > a.timeout:
            err("not answering after %ss: %s" % (a.timeout, " ".join(t[0] for t in todo)))
            return 1
        time.sleep(0.05)
    err("elapsed=%.3f" % (time.monotonic() - start))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("deliver")
    s.add_argument("--socket", required=True)
    s.add_argument("--from", dest="sender", required=True)
    s.add_argument("--to", action="append", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("file")
    s.set_defaults(func=cmd_deliver)

    s = sub.add_parser("fetch")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--folder", default="INBOX")
    s.add_argument("--annotations", default="")
    s.set_defaults(func=cmd_fetch)

    s = sub.add_parser("append")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--folder", required=True)
    s.add_argument("--flags", default=None)
    s.add_argument("file")
    s.set_defaults(func=cmd_append)

    s = sub.add_parser("create")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", default="admin")
    s.add_argument("mailbox", nargs="+")
    s.set_defaults(func=cmd_create)

    s = sub.add_parser("imap")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--folder", default=None)
    s.add_argument("command", nargs="+")
    s.set_defaults(func=cmd_imap)

    s = sub.add_parser("caldav-get")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--path", required=True)
    s.set_defaults(func=cmd_caldav_get)

    s = sub.add_parser("propfind")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--path", required=True)
    s.add_argument("--depth", default="1")
    s.set_defaults(func=cmd_propfind)

    s = sub.add_parser("wait")
    s.add_argument("--socket")
    s.add_argument("--port", type=int)
    s.add_argument("--http-port", type=int)
    s.add_argument("--pid", type=int)
    s.add_argument("--timeout", type=float, default=10)
    s.set_defaults(func=cmd_wait)

    a = p.parse_args()
    try:
        return a.func(a)
    except (imaplib.IMAP4.error, OSError, http.client.HTTPException,
            ValueError) as e:
        err("%s: %s" % (a.cmd, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())

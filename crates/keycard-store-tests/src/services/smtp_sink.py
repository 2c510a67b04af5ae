"""An SMTP sink for keycard's tests (keycard-store-tests' OwnSmtp starts it; not for production).

aiosmtpd on a loopback port; every message accepted is saved in OUT as NNNNNN.env (MAIL FROM, then one
RCPT TO per line) and NNNNNN.eml (the message as received), each written to a temporary name and renamed,
so a reader never sees half a file. Options: AUTH with one user and password (--auth-user/--auth-password;
then required), STARTTLS required (--starttls) or TLS from the first byte (--tls) with --cert/--key, and
recipients to refuse with 550 (--refuse, repeatable). When ready it writes OUT/ready; it exits on SIGTERM,
or when its parent process goes away.

Exit status 3: aiosmtpd cannot be imported (scripts/smtp-sink.sh installs it).
"""

import argparse
import os
import signal
import ssl
import sys
import time

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError as e:  # the Rust side turns this into a skip (or a failure under CI)
    sys.stderr.write("cannot import aiosmtpd (%s)\n" % e)
    sys.exit(3)


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Sink:
    def __init__(self, out, refuse):
        self.out = out
        self.refuse = {a.lower() for a in refuse}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 <%s>: recipient refused by the test sink" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.out, "%06d" % self.count)
        lines = [envelope.mail_from or ""] + list(envelope.rcpt_tos)
        write_atomically(stem + ".env", ("\n".join(lines) + "\n").encode())
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        write_atomically(stem + ".eml", content)
        return "250 OK: saved as %06d" % self.count


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--auth-user")
    p.add_argument("--auth-password", default="")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--refuse", action="append", default=[])
    a = p.parse_args()

    kwargs = {}
    context = None
    if a.starttls or a.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
    if a.starttls:
        kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True)
    else:
        # Plain: AUTH offered in the clear (a test server on loopback). TLS from the first byte: the
        # connection is already encrypted, which aiosmtpd's `auth_require_tls` does not see.
        kwargs.update(auth_require_tls=False)
    if a.tls:
        kwargs.update(ssl_context=context)
    if a.auth_user is not None:
        kwargs.update(authenticator=authenticator(a.auth_user, a.auth_password), auth_required=True)

    controller = Controller(
        Sink(a.out, a.refuse), hostname="127.0.0.1", port=a.port, ready_timeout=30.0, **kwargs
    )
    controller.start()
    write_atomically(os.path.join(a.out, "ready"), str(a.port).encode())

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    parent = os.getppid()
    while not stop and os.getppid() == parent:
        time.sleep(0.2)
    controller.stop()


if __name__ == "__main__":
    main()

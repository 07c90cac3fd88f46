"""The tests' SMTP server: aiosmtpd's Maildir handler, with three behaviours
chosen by the recipient's local part (no other test writes to such names):

- ``refuse…@``: RCPT is answered 550 (a permanent refusal, with a text);
- ``busy…@``: the first DATA of each Message-ID is answered 451 (a transient
  refusal), the next ones are taken;
- ``slow…@``: DATA is answered after half a second.

Every DATA answer is written to ``attempts.log`` beside the Maildir, one line
each: the code, the Message-ID.

Started by harness/smtp.rs as
``python3 -m aiosmtpd -n -l HOST:PORT -c smtp_sink.Sink MAILDIR``.
"""

import asyncio
import email.parser
import os

from aiosmtpd.handlers import Mailbox


def local_parts(addresses):
    return [address.split("@", 1)[0].lower() for address in addresses]


class Sink(Mailbox):
    def __init__(self, mail_dir, message_class=None):
        super().__init__(mail_dir, message_class)
        self.log_path = os.path.join(os.path.dirname(os.path.abspath(mail_dir)), "attempts.log")
        self.refused_once = set()

    def log(self, code, message_id):
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{code} {message_id}\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if local_parts([address])[0].startswith("refuse"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content or b"")
        message_id = str(headers.get("Message-ID", "")).strip()
        local = local_parts(envelope.rcpt_tos)
        if any(part.startswith("slow") for part in local):
            await asyncio.sleep(0.5)
        if any(part.startswith("busy") for part in local) and message_id not in self.refused_once:
            self.refused_once.add(message_id)
            self.log(451, message_id)
            return "451 4.3.0 Try again later"
        answer = await super().handle_DATA(server, session, envelope)
        self.log(250, message_id)
        return answer

"""The email channel: plain-text mail over SMTP (stdlib smtplib) with STARTTLS, SSL, or neither."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal, NoReturn

from oncall_agent.errors import ChannelMisconfigured, ChannelUnavailable
from oncall_agent.notify.base import Notification
from oncall_agent.secrets import mask_secrets

SmtpSecurity = Literal["starttls", "ssl", "plain"]


def build_message(
    notification: Notification, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The email for NOTIFICATION: one-line subject, plain-text body, incident header."""
    message = EmailMessage()
    # A line break in a header would let a log line add headers of its own.
    message["Subject"] = " ".join(notification.subject.split())
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = make_msgid(domain="oncall-agent")
    message["X-Oncall-Incident"] = str(notification.incident_id)
    message["X-Oncall-Kind"] = notification.kind
    message.set_content(notification.body)
    return message


class SmtpEmailNotifier:
    """Sends each notification as one email to a fixed list of recipients."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        security: SmtpSecurity = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not recipients:
            raise ChannelMisconfigured(f"{name}: no recipients; set 'to' in the email block")
        self.name = name
        self.host, self.port, self.security = host, port, security
        self.sender, self.recipients = sender, list(recipients)
        self.username = username
        self._password = password
        self.timeout_s = timeout_s
        self._ssl_context = ssl_context

    def secrets(self) -> list[str]:
        """The values no message may show."""
        return [self._password] if self._password else []

    def send(self, notification: Notification) -> None:
        """Deliver one email; ChannelUnavailable / ChannelMisconfigured when it fails."""
        message = build_message(notification, self.sender, self.recipients)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self._raise_for(exc)

    def _connect(self) -> smtplib.SMTP:
        """An SMTP connection in the configured security mode, with the timeout set."""
        context = self._ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _raise_for(self, exc: BaseException) -> NoReturn:
        """Translate an smtplib or socket error into the notification error it means."""
        server = f"{self.name}: SMTP server {self.host}:{self.port}"
        said = mask_secrets(_server_said(exc), self.secrets())
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            raise ChannelMisconfigured(
                f"{server} refused the login of {self.username!r}{said}; "
                "check username and password in the email block"
            ) from None
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            raise ChannelMisconfigured(
                f"{server} does not offer what the block asks ({self.security}, login); "
                "change 'security' or the username in the email block"
            ) from None
        if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
            raise ChannelMisconfigured(
                f"{server} refused the sender or recipients{said}; check 'from' and 'to'"
            ) from None
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise ChannelMisconfigured(
                f"{server}: its TLS certificate could not be verified ({exc.verify_message}); "
                "fix the certificate or give the block a CA file"
            ) from None
        code = getattr(exc, "smtp_code", None)
        if isinstance(code, int) and 500 <= code < 600:
            raise ChannelMisconfigured(f"{server} rejected the message{said}") from None
        raise ChannelUnavailable(
            f"{server} is unavailable ({type(exc).__name__}{said}); will retry"
        ) from None


def _server_said(exc: BaseException) -> str:
    """What the server or socket said, in parentheses, on one short line."""
    code = getattr(exc, "smtp_code", None)
    error = getattr(exc, "smtp_error", None)
    if isinstance(error, bytes):
        text = error.decode("utf-8", "replace")
    elif error is not None:
        text = str(error)
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = ", ".join(f"{who}: {answer[0]}" for who, answer in exc.recipients.items())
    else:
        text = str(exc)
    text = " ".join(text.split())[:200]
    prefix = f"{code} " if code else ""
    return f" ({prefix}{text})" if text or prefix else ""

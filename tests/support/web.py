"""A small web client for a node started as in production: what a browser behind the node's
nginx would send (X-Forwarded-Proto https, the client's address, Origin and Referer), with its
own cookie jar, forms posted with their CSRF token, files uploaded as multipart, redirects
followed. The pages are read as HTML text (stdlib only): the tests look for what a user reads.

    web = WebClient("http://127.0.0.1:8123")
    web.sign_in("root", password)
    page = web.submit("/accounts/users/invite/", {"username": "prosecutor", ...})
"""

import http.cookies
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b32decode
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

FormData = Mapping[str, Any] | Sequence[tuple[str, Any]]


class WebError(AssertionError):
    pass


@dataclass
class AuthenticatorApp:
    """A TOTP app: the key a user scanned at enrolment, and the codes it shows. A code is
    never accepted twice, so a second code within the same 30 s is the next step's (the
    server's window allows one step of drift)."""

    key: bytes
    last_step: int = -1

    def code(self) -> str:
        from django_otp.oath import totp

        now_step = int(time.time()) // 30
        step = max(now_step, self.last_step + 1)
        self.last_step = step
        return f"{totp(self.key, step=30, t0=0, digits=6, drift=step - now_step):06d}"


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass
class Page:
    status: int
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def visible_text(self) -> str:
        """The page's text without tags, whitespace collapsed: what a reader sees."""
        without_scripts = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", self.text)
        return re.sub(r"\s+", " ", unescape(re.sub(r"(?s)<[^>]+>", " ", without_scripts)))

    def links(self, pattern: str = "") -> list[str]:
        found = [unescape(href) for href in re.findall(r'href="([^"]+)"', self.text)]
        return [href for href in found if re.search(pattern, href)]

    def form(self, action: str | None = None, *, having: str | None = None) -> dict[str, list[str]]:
        """The values a browser would send for the first form whose action contains
        ``action`` and that has a field named ``having``: hidden and filled inputs, checked
        boxes, selections."""
        parser = _FormParser()
        parser.feed(self.text)
        for form in parser.forms:
            if action is not None and action not in form.action:
                continue
            if having is not None and having not in form.names:
                continue
            return form.values
        raise WebError(f"No form ({action=}, {having=}) on {self.url}")


@dataclass
class _Form:
    action: str
    values: dict[str, list[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._select: str | None = None
        self._select_multiple = False
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        if self.forms and name:
            self.forms[-1].values.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(_Form(action=values.get("action", "")))
            return
        if tag in ("input", "select", "textarea") and self.forms:
            self.forms[-1].names.add(values.get("name", ""))
        if tag == "input":
            kind = values.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            self._add(
                values.get("name", ""), values.get("value", "on" if kind == "checkbox" else "")
            )
        elif tag == "select":
            self._select = values.get("name", "")
            self._select_multiple = "multiple" in values
            self._select_first, self._select_chosen = None, False
        elif tag == "option" and self._select is not None:
            if self._select_first is None:
                self._select_first = values.get("value", "")
            if "selected" in values:
                self._select_chosen = True
                self._add(self._select, values.get("value", ""))
        elif tag == "textarea":
            self._textarea = values.get("name", "")
            self._add(self._textarea, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            # A single choice with none marked sends its first option, as a browser does.
            chosen = self._select_chosen or self._select_multiple
            if self._select and not chosen and self._select_first is not None:
                self._add(self._select, self._select_first)
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self.forms:
            self.forms[-1].values[self._textarea][-1] += data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebClient:
    def __init__(self, base_url: str, *, client_address: str = "127.0.0.1") -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urllib.parse.urlsplit(self.base_url).netloc
        self.client_address = client_address
        self.cookies: dict[str, str] = {}
        self._opener = urllib.request.build_opener(_NoRedirect())

    # Requests ------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def _remember(self, headers: Iterable[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            cookie = http.cookies.SimpleCookie()
            cookie.load(value)
            for key, morsel in cookie.items():
                if morsel["max-age"] == "0" or (not morsel.value and morsel["expires"]):
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        referer: str | None = None,
        follow: bool = True,
    ) -> Page:
        url = self._url(path)
        for _hop in range(10):
            https_url = "https://" + self.host + urllib.parse.urlsplit(url).path
            headers = {
                # As the node's nginx sets them (deploy/nginx/mla.conf): TLS ended there.
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": self.client_address,
                "X-Forwarded-Host": self.host,
                "Accept-Language": "en",
                "Referer": referer or https_url,
            }
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if method != "GET":
                headers["Origin"] = f"https://{self.host}"
            if content_type:
                headers["Content-Type"] = content_type
            # Only http(s) URLs of the node under test reach here.
            request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
            try:
                response = self._opener.open(request, timeout=120)
                status, raw, reply_headers = response.status, response.read(), response.headers
            except urllib.error.HTTPError as error:
                status, raw, reply_headers = error.code, error.read(), error.headers
            self._remember(reply_headers.items())
            page = Page(status=status, url=url, headers=dict(reply_headers.items()), body=raw)
            if not (follow and status in (301, 302, 303, 307, 308)):
                return page
            location = urllib.parse.urljoin(url, reply_headers["Location"])
            # The redirect goes back to this node over the same plain HTTP (TLS is nginx's).
            url = self.base_url + urllib.parse.urlsplit(location).path
            if urllib.parse.urlsplit(location).query:
                url += "?" + urllib.parse.urlsplit(location).query
            if status in (301, 302, 303):
                method, body, content_type = "GET", None, None
        raise WebError(f"Too many redirects from {path}")

    def get(self, path: str, *, expect: int | None = 200) -> Page:
        page = self.request("GET", path)
        if expect is not None and page.status != expect:
            raise WebError(
                f"GET {path}: {page.status}, expected {expect}\n{page.visible_text[:3000]}"
            )
        return page

    def post(
        self,
        path: str,
        data: FormData,
        *,
        files: Mapping[str, Upload] | None = None,
        expect: int | None = 200,
        referer: str | None = None,
    ) -> Page:
        fields = list(data.items()) if isinstance(data, Mapping) else list(data)
        if not any(name == "csrfmiddlewaretoken" for name, _value in fields):
            token = self.cookies.get("csrftoken")
            if token is None:
                raise WebError("No CSRF cookie yet: open a page with a form first.")
            fields.append(("csrfmiddlewaretoken", token))
        flat = [
            (name, item)
            for name, value in fields
            for item in (value if isinstance(value, (list, tuple)) else [value])
        ]
        if files:
            body, content_type = _multipart(flat, files)
        else:
            body = urllib.parse.urlencode([(k, str(v)) for k, v in flat]).encode()
            content_type = "application/x-www-form-urlencoded"
        page = self.request("POST", path, body=body, content_type=content_type, referer=referer)
        if expect is not None and page.status != expect:
            raise WebError(
                f"POST {path}: {page.status}, expected {expect}\n{page.visible_text[:3000]}"
            )
        return page

    def submit(
        self,
        path: str,
        data: FormData,
        *,
        action: str | None = None,
        having: str | None = None,
        files: Mapping[str, Upload] | None = None,
        expect: int | None = 200,
    ) -> Page:
        """Open the page at ``path``, fill its form (the first posting to ``action`` and
        having a field ``having``) with ``data`` over what it already holds, and send it."""
        page = self.get(path)
        values: dict[str, Any] = dict(page.form(action, having=having))
        values.update(dict(data))
        target = action if action and action.startswith("/") else path
        return self.post(target, values, files=files, expect=expect, referer=page.url)

    def sign_in(self, username: str, password: str, *, app: AuthenticatorApp | None = None) -> Page:
        """Sign in with the password, then the app's code when the node asks for one."""
        page = self.submit(
            "/accounts/login/", {"username": username, "password": password}, having="password"
        )
        if "/accounts/login/" in page.url and page.status == 200:
            raise WebError(f"{username} could not sign in:\n{page.visible_text[:2000]}")
        if "/accounts/second-factor/" in page.url:
            if app is None:
                raise WebError(f"{username} is asked for a second factor and has none here.")
            page = self.post(
                page.url, {**page.form(having="code"), "code": app.code()}, referer=page.url
            )
            if "/accounts/second-factor/" in page.url:
                raise WebError(f"{username}: code refused:\n{page.visible_text[:2000]}")
        return page

    def enrol_authenticator(self) -> AuthenticatorApp:
        """Add a TOTP app on the security page, as a user scanning the QR code would."""
        page = self.get("/accounts/security/totp/")
        match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text)
        if match is None:
            raise WebError(f"No TOTP key shown:\n{page.visible_text[:2000]}")
        secret = match.group(1).replace(" ", "")
        app = AuthenticatorApp(key=b32decode(secret + "=" * (-len(secret) % 8)))
        confirmed = self.post(
            page.url, {**page.form(having="code"), "code": app.code()}, referer=page.url
        )
        if "recovery" not in confirmed.visible_text.lower():
            raise WebError(f"Enrolment not confirmed:\n{confirmed.visible_text[:2000]}")
        return app

    def sign_out(self) -> None:
        page = self.get("/")
        self.post("/accounts/logout/", page.form("/accounts/logout/"), referer=page.url)
        self.cookies.pop("sessionid", None)


def _multipart(fields: list[tuple[str, Any]], files: Mapping[str, Upload]) -> tuple[bytes, str]:
    boundary = "----mla" + secrets.token_hex(12)
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, upload in files.items():
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{upload.filename}"\r\nContent-Type: {upload.content_type}\r\n\r\n'
            ).encode()
            + upload.content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"

#!/usr/bin/env python3
"""Signs in to a portal running on its built-in sandbox as a demo user and prints the
session cookie, for load tools such as wrk: `Cookie: $(python3 bench/sign_in.py URL)`.

Usage: python3 bench/sign_in.py http://127.0.0.1:8080 ["Sam Sales"]
"""
import html.parser
import sys
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Form(html.parser.HTMLParser):
    def __init__(self, who):
        super().__init__()
        self.fields, self.user, self.who, self._button = [], None, who, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields.append((a["name"], a.get("value", "")))
        if tag == "button" and a.get("name") == "user":
            self._button = a.get("value")

    def handle_data(self, data):
        if self._button and data.strip().startswith(self.who):
            self.user = self._button
        self._button = None


def sign_in(base, who="Sam Sales"):
    """Signs in as `who` through the sandbox's sign-in page; returns `name=value` of the
    session cookie."""
    base = base.rstrip("/")
    opener = urllib.request.build_opener(NoRedirect)

    def get(url, cookie=None):
        req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
        try:
            r = opener.open(req)
            return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    status, headers, _ = get(f"{base}/login")
    cookie = headers["Set-Cookie"].split(";")[0]
    authorize = headers["Location"]
    _, _, page = get(authorize)
    form = Form(who)
    form.feed(page)
    if not form.user:
        sys.exit(f"{who} is not offered on the sign-in page")
    parts = urllib.parse.urlsplit(authorize)
    data = urllib.parse.urlencode(form.fields + [("user", form.user)]).encode()
    try:
        opener.open(urllib.request.Request(f"{parts.scheme}://{parts.netloc}{parts.path}", data=data))
        sys.exit("the identity provider did not redirect back")
    except urllib.error.HTTPError as e:
        callback = e.headers["Location"]
    status, headers, _ = get(callback, cookie)
    if status != 303:
        sys.exit(f"sign-in failed with {status}")
    # The answer also removes the pending sign-in's cookie; the session's is the other one.
    cookies = [c.split(";")[0] for c in headers.get_all("Set-Cookie")]
    session = [c for c in cookies if not c.startswith("mca-sign-in=") and not c.endswith("=")]
    if not session:
        sys.exit("the portal set no session cookie")
    return session[0]


if __name__ == "__main__":
    print(sign_in(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "Sam Sales"))

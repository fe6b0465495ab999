"""The official Python MCP SDK client (mcp 2.x, speaks 2026-07-28) completes the OAuth flow
against the running Worker and calls search_tracks.

Usage: python py_sdk_client.py <worker base URL> <spotify user>
Prints one JSON line with what it saw; exits non-zero on any failure.
"""

import asyncio
import html
import json
import re
import sys

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

BASE, USER = sys.argv[1], sys.argv[2]
REDIRECT = "http://127.0.0.1:9/py-sdk-callback"


class MemoryStorage(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def cookie(resp: httpx2.Response, name: str) -> str:
    for value in resp.headers.get_list("set-cookie"):
        kv = value.split(";")[0]
        if kv.startswith(name + "="):
            return kv
    raise RuntimeError(f"no {name} cookie (HTTP {resp.status_code})")


def field(page: str, name: str) -> str:
    m = re.search(f'name="{name}" value="([^"]*)"', page)
    if not m:
        raise RuntimeError(f"no {name} field in the consent page")
    return html.unescape(m.group(1))


result: dict = {}


async def browser(url: str) -> None:
    """What a person's browser does: approve on our page, sign in at the emulator, come back."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as http:
        consent = await http.get(url)
        assert consent.status_code == 200, consent.text[:300]
        await asyncio.sleep(1.05)  # the page refuses approvals within a second (clickjacking)
        approve = await http.post(
            f"{BASE}/authorize",
            # What a browser sends with the boxes checked by default.
            data={"request": field(consent.text, "request"), "csrf": field(consent.text, "csrf"), "decision": "approve",
                  "capability": re.findall(r'name="capability" value="(\w+)" checked', consent.text)},
            headers={"cookie": cookie(consent, "__Host-mcp_csrf")},
        )
        assert approve.status_code == 302, approve.text[:300]
        bind = cookie(approve, "__Host-mcp_bind")
        spotify = await http.get(approve.headers["location"] + f"&emulator_user={USER}")
        assert spotify.status_code == 302
        back = await http.get(spotify.headers["location"], headers={"cookie": bind})
        assert back.status_code == 302, back.text[:300]
        params = httpx2.URL(back.headers["location"]).params
        result["callback"] = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


async def callback() -> AuthorizationCodeResult:
    return result.pop("callback")


async def main() -> None:
    provider = OAuthClientProvider(
        server_url=f"{BASE}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Python SDK e2e",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=MemoryStorage(),
        redirect_handler=browser,
        callback_handler=callback,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with Client(streamable_http_client(f"{BASE}/mcp", http_client=http), mode="auto") as client:
            tools = await client.list_tools()
            search = await client.call_tool("search_tracks", {"query": "love", "limit": 2})
            me = await client.call_tool("get_my_profile", {})
            print(
                json.dumps(
                    {
                        "protocolVersion": client.protocol_version,
                        "tools": [t.name for t in tools.tools],
                        "searchIsError": bool(search.is_error),
                        "trackCount": len((search.structured_content or {}).get("tracks", [])),
                        "user": (me.structured_content or {}).get("id"),
                    }
                )
            )


asyncio.run(main())

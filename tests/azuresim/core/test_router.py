"""Route matching: case-insensitive literals, the most specific pattern wins, HEAD falls back to GET."""

from __future__ import annotations

from aiohttp import web

from azuresim.router import Handler, Router, SimRequest


def _handler(name: str) -> Handler:
    async def handler(req: SimRequest) -> web.StreamResponse:
        return web.Response(text=name)

    return handler


def _router() -> Router:
    router = Router()
    router.add(
        "GET", "/subscriptions/{sub}/resourceGroups/{rg}/providers/{rest:path}", _handler("g"), op="generic"
    )
    router.add("GET", "/{scope:path}/providers/Microsoft.Resources/tags/default", _handler("t"), op="tags")
    router.add(
        "GET", "/{scope:path}/providers/Microsoft.Authorization/roleAssignments/{n}", _handler("r"), op="role"
    )
    nic = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{name}"
    router.add("GET", nic, _handler("n"), op="nic")
    router.add("DELETE", nic, _handler("nd"), op="nic.delete")
    return router


def _op(router: Router, method: str, path: str) -> str | None:
    found = router.match(method, path)
    return found[0].op if found else None


def test_the_most_specific_route_wins_whatever_the_registration_order() -> None:
    router = _router()
    base = "/subscriptions/s/resourcegroups/rg/providers"
    assert _op(router, "GET", f"{base}/microsoft.network/NETWORKINTERFACES/nic1") == "nic"
    assert (
        _op(router, "GET", f"{base}/Microsoft.Network/networkInterfaces/nic1/ipConfigurations/x") == "generic"
    )
    assert (
        _op(
            router,
            "GET",
            f"{base}/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Resources/tags/default",
        )
        == "tags"
    )
    assert _op(router, "GET", f"{base}/Microsoft.Authorization/roleAssignments/r1") == "role"


def test_path_parameters_keep_the_casing_the_client_sent() -> None:
    found = _router().match(
        "GET", "/subscriptions/S1/resourcegroups/My-RG/providers/Microsoft.Network/networkInterfaces/N"
    )
    assert found is not None
    assert found[1] == {"sub": "S1", "rg": "My-RG", "name": "N"}


def test_head_falls_back_to_get_and_unknown_methods_do_not_match() -> None:
    router = _router()
    nic = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n"
    assert _op(router, "HEAD", nic) == "nic"
    assert _op(router, "DELETE", nic) == "nic.delete"
    assert router.match("PATCH", nic) is None
    assert router.allows_other_method(nic)
    assert router.match("GET", "/nothing/here") is None

import pytest

from devhost.routes import RouteError, compile_route


def test_parameters_are_captured_and_url_decoded() -> None:
    route = compile_route("builds/{name}/logs/{part}")
    assert route.match("/builds/img%20one/logs/2") == {"name": "img one", "part": "2"}
    assert route.match("/builds/img/logs") is None


def test_literal_segments_match_case_insensitively_like_aspnet() -> None:
    route = compile_route("subscriptions/{sub}/resourceGroups/{rg}")
    assert route.match("/subscriptions/s1/resourcegroups/RG") == {"sub": "s1", "rg": "RG"}


def test_int_and_alpha_constraints_reject_other_values() -> None:
    assert compile_route("items/{id:int}").match("items/42") == {"id": "42"}
    assert compile_route("items/{id:int}").match("items/4x") is None
    assert compile_route("items/{id:int}").match("items/99999999999") is None
    assert compile_route("n/{name:alpha}").match("n/abc") == {"name": "abc"}
    assert compile_route("n/{name:alpha}").match("n/abc1") is None


def test_regex_constraint_uses_doubled_braces() -> None:
    route = compile_route("codes/{code:regex(^\\d{{3}}$)}")
    assert route.match("codes/123") == {"code": "123"}
    assert route.match("codes/1234") is None


def test_optional_parameter_may_be_absent() -> None:
    route = compile_route("things/{x?}")
    assert route.match("things") == {}
    assert route.match("things/7") == {"x": "7"}


def test_catch_all_takes_the_rest_of_the_path_including_slashes() -> None:
    route = compile_route("files/{*path}")
    assert route.match("files/a/b/c.txt") == {"path": "a/b/c.txt"}
    assert route.match("files") == {}


def test_combined_constraints_all_apply() -> None:
    route = compile_route("pages/{n:int:range(1,10)}")
    assert route.match("pages/10") == {"n": "10"}
    assert route.match("pages/11") is None


def test_literals_take_precedence_over_parameters_and_catch_alls() -> None:
    literal, param, catch_all = (compile_route(t) for t in ("a/new", "a/{id}", "a/{*rest}"))
    assert sorted([catch_all, param, literal], key=lambda r: r.precedence) == [literal, param, catch_all]


@pytest.mark.parametrize("template", ["a/{id", "a/x{id}", "a/{id:nosuch}", "a/{9bad}"])
def test_malformed_templates_are_rejected(template: str) -> None:
    with pytest.raises(RouteError):
        compile_route(template)

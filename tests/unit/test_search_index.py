"""The tool index: tokenisation, field weights, incremental updates, filters and deterministic order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from switchyard.search.index import ToolDocument, ToolIndex, compound_parts
from switchyard.search.tokens import terms, words


def tool(
    server: str,
    name: str,
    description: str = "",
    properties: dict[str, Any] | None = None,
    title: str = "",
    server_description: str = "",
) -> ToolDocument:
    schema = {"type": "object", "properties": properties or {}}
    return ToolDocument(
        name=f"{server}__{name}",
        server=server,
        tool=name,
        description=description,
        input_schema=schema,
        title=title,
        server_description=server_description,
    )


def names(index: ToolIndex, query: str, limit: int = 5, **kw: Any) -> list[str]:
    return [hit.document.name for hit in index.search(query, limit, **kw)]


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("get_file_contents", ["get", "file", "contents"]),
        ("listPullRequests", ["list", "pull", "requests"]),
        ("github__create_issue", ["github", "create", "issue"]),
        ("retry-max-delay", ["retry", "max", "delay"]),
        ("HTTPServer", ["http", "server"]),
        ("getS3Object", ["get", "s3", "object"]),
        ("base64", ["base64", "base"]),
        ("fs.read/file", ["fs", "read", "file"]),
    ],
)
def test_identifiers_split_into_words(identifier: str, expected: list[str]) -> None:
    assert words(identifier) == expected


def test_terms_drop_stop_words_and_stem_keeping_the_surface_form() -> None:
    assert terms("Please can you show me the repositories") == ("show", "repositori", "repositories")
    assert "key" in terms("keys") and "keys" in terms("keys")


def test_a_word_in_the_name_outranks_the_same_word_in_a_parameter_description() -> None:
    index = ToolIndex()
    index.replace_server(
        "s",
        [
            tool("s", "archive_thing", "Keep it.", {"x": {"type": "string", "description": "a branch"}}),
            tool("s", "create_branch", "Make a new line of work."),
        ],
    )
    assert names(index, "branch") == ["s__create_branch", "s__archive_thing"]


def test_parameter_names_and_enums_are_searchable() -> None:
    index = ToolIndex()
    index.replace_server(
        "s",
        [
            tool("s", "convert", "Convert a value.", {"temperature_unit": {"type": "string", "enum": ["kelvin"]}}),
            tool("s", "other", "Something else entirely."),
        ],
    )
    assert names(index, "temperature") == ["s__convert"]
    assert names(index, "kelvin") == ["s__convert"]


def test_replace_server_swaps_only_that_servers_tools() -> None:
    index = ToolIndex()
    index.replace_server("a", [tool("a", "send_email", "Send an email message.")])
    index.replace_server("b", [tool("b", "post_message", "Post a chat message to a channel.")])
    assert len(index) == 2
    index.replace_server("a", [tool("a", "read_email", "Read email messages from the inbox.")])
    assert len(index) == 2
    assert names(index, "read inbox") == ["a__read_email"]
    assert "a__send_email" not in names(index, "send email")
    assert names(index, "channel") == ["b__post_message"]


def test_remove_server_forgets_its_tools_and_their_words() -> None:
    index = ToolIndex()
    index.replace_server("a", [tool("a", "query_database", "Run SQL against the warehouse.")])
    index.replace_server("b", [tool("b", "get_weather", "Weather forecast for a city.")])
    index.remove_server("a")
    assert len(index) == 1
    assert names(index, "sql warehouse") == []
    assert names(index, "forecast") == ["b__get_weather"]


def test_allowed_filter_applies_before_the_limit_and_fills_it() -> None:
    index = ToolIndex()
    index.replace_server("s", [tool("s", f"file_tool_{i}", f"Handle file number {i}.") for i in range(10)])
    refused = {f"s__file_tool_{i}" for i in range(5)}
    found = names(index, "file", limit=3, allowed=lambda name: name not in refused)
    assert len(found) == 3
    assert not refused & set(found)


def test_server_filter_keeps_one_servers_tools() -> None:
    index = ToolIndex()
    index.replace_server("github", [tool("github", "create_issue", "Create an issue in a repository.")])
    index.replace_server("jira", [tool("jira", "create_issue", "Create an issue in a project.")])
    assert names(index, "create issue", server="jira") == ["jira__create_issue"]


def test_ties_are_broken_by_public_name() -> None:
    index = ToolIndex()
    index.replace_server("b", [tool("b", "ping", "Check that it answers.")])
    index.replace_server("a", [tool("a", "ping", "Check that it answers.")])
    hits = index.search("ping answers")
    assert [hit.document.name for hit in hits] == ["a__ping", "b__ping"]
    assert hits[0].score == hits[1].score


def test_empty_or_stop_word_query_finds_nothing() -> None:
    index = ToolIndex()
    index.replace_server("s", [tool("s", "echo", "Echo the input.")])
    assert index.search("   ") == []
    assert index.search("the of and") == []


def test_query_words_missing_from_the_catalogue_match_longer_catalogue_words() -> None:
    index = ToolIndex()
    index.replace_server("s", [tool("s", "list_repositories", "List the repositories of an organisation.")])
    index.replace_server("t", [tool("t", "list_users", "List the users of an organisation.")])
    assert names(index, "repo")[0] == "s__list_repositories"


def test_recorded_successes_lift_a_tool_for_similar_queries() -> None:
    index = ToolIndex()
    index.replace_server("s", [tool("s", "a_tool", "Upload a report."), tool("s", "b_tool", "Upload a report.")])
    assert names(index, "upload report")[0] == "s__a_tool"
    index.record_success("upload the weekly report", "s__b_tool")
    assert names(index, "upload report")[0] == "s__b_tool"


def test_glued_words_in_a_name_split_where_the_description_has_both_halves() -> None:
    assert compound_parts("add_worklog", terms("Log time spent working on an issue.")) == ["work", "log"]
    assert compound_parts("add_worklog", terms("Record effort.")) == []
    index = ToolIndex()
    index.replace_server(
        "jira",
        [tool("jira", "add_worklog", "Log time spent working on an issue."), tool("jira", "get_board", "A board.")],
    )
    assert names(index, "work log", limit=1) == ["jira__add_worklog"]


class ConceptEmbedder:
    """A tiny stand-in ranker with a fixed vocabulary of concepts: a text's vector marks the concepts it names."""

    CONCEPTS = (("weather", "rain", "forecast"), ("email", "mail", "inbox"))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(any(word in text.lower() for word in concept)) for concept in self.CONCEPTS] for text in texts]

    def stack(self, matrices: Sequence[list[list[float]]]) -> list[list[float]]:
        return [row for matrix in matrices for row in matrix]

    def nearest(self, queries: Sequence[str], matrix: list[list[float]], limit: int) -> list[list[tuple[int, float]]]:
        out = []
        for wanted in self.embed(queries):
            similarity = [sum(a * b for a, b in zip(row, wanted, strict=True)) for row in matrix]
            ranked = sorted(range(len(matrix)), key=lambda row: (-similarity[row], row))
            out.append([(row, similarity[row]) for row in ranked if similarity[row] > 0][:limit])
        return out


def test_an_embedder_finds_tools_that_share_no_word_with_the_query_and_follows_updates() -> None:
    index = ToolIndex(ConceptEmbedder())
    index.replace_server("weather", [tool("weather", "get_forecast", "Forecast for a location.")])
    index.replace_server("gmail", [tool("gmail", "send_email", "Send an email.")])
    assert names(index, "will it rain tomorrow", limit=1) == ["weather__get_forecast"]
    index.remove_server("weather")
    index.replace_server("mail", [tool("mail", "read_inbox", "Read the inbox.")])
    assert set(names(index, "check my mail")) == {"gmail__send_email", "mail__read_inbox"}
    assert "weather__get_forecast" not in names(index, "will it rain tomorrow")


def test_a_query_word_gluing_two_catalogue_words_matches_both() -> None:
    index = ToolIndex()
    index.replace_server("cosmos", [tool("cosmos", "list_accounts", "List Cosmos DB accounts.")])
    index.replace_server("sql", [tool("sql", "list_servers", "List SQL servers.")])
    assert names(index, "cosmosdb", limit=1) == ["cosmos__list_accounts"]


def test_a_placeholder_in_the_query_favours_the_tool_that_takes_it_as_a_parameter() -> None:
    index = ToolIndex()
    string = {"type": "string"}
    index.replace_server(
        "hubs",
        [
            tool("hubs", "namespace_delete", "Delete a namespace with its event hubs.", {"namespace": string}),
            tool(
                "hubs", "eventhub_delete", "Delete one hub of a namespace.", {"namespace": string, "eventHub": string}
            ),
        ],
    )

    def lead(query: str) -> float:
        scores = {hit.document.tool: hit.score for hit in index.search(query, 2)}
        return scores["eventhub_delete"] - scores["namespace_delete"]

    # The same words, once as placeholders: only then do they name the parameters the hub's tool takes.
    assert lead("delete event hub <event_hub_name> in namespace <namespace_name>") > lead(
        "delete event hub event hub name in namespace namespace name"
    )
    assert names(index, "delete the namespace <namespace_name>", limit=1) == ["hubs__namespace_delete"]


def test_brand_words_in_two_humps_also_match_as_one_word() -> None:
    assert "mysql" in terms("MySQL") and "sql" in terms("MySQL")
    assert "github" in terms("GitHub")

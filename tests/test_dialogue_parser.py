"""Dialogue parser: tolerated variants, reported problems, and the context checks."""

from __future__ import annotations

import time

from distillrecdial_kit.generation.dialogue_parser import ParsedDialogue, Turn, check_dialogue, item_ids, parse_dialogue

CLEAN = (
    "[USR] I want a tense heist movie tonight.\n"
    "[AI] Have you seen <id_B00ABC1234>? It is a slow-burn heist.\n"
    "[USR] Yes, loved it. Something newer?\n"
    "[AI] Then try <id_B01XYZ9876>, same director."
)
CLEAN_TURNS = [
    Turn("user", "I want a tense heist movie tonight."),
    Turn("assistant", "Have you seen <id_B00ABC1234>? It is a slow-burn heist."),
    Turn("user", "Yes, loved it. Something newer?"),
    Turn("assistant", "Then try <id_B01XYZ9876>, same director."),
]
KNOWN = {"B00ABC1234", "B01XYZ9876"}


def roles(parsed: ParsedDialogue) -> list[str]:
    return [turn.role for turn in parsed.turns]


def contents(parsed: ParsedDialogue) -> list[str]:
    return [turn.content for turn in parsed.turns]


# --- clean input -------------------------------------------------------------------------------------------


def test_clean_dialogue_has_no_problems():
    parsed = parse_dialogue(CLEAN)
    assert parsed.turns == CLEAN_TURNS
    assert parsed.problems == []
    assert parsed.valid


def test_clean_dialogue_passes_checks():
    checked = check_dialogue(parse_dialogue(CLEAN), "B01XYZ9876", KNOWN)
    assert checked.problems == []
    assert checked.valid


# --- tolerated variants: clean turns, exactly the expected fixed: problems -----------------------------------


def test_separator_variants_without_problems():
    text = "[USR]: Hi there.\n[AI] : Hello!\n[USR]- Any thriller?\n[AI] — Try <id_B00ABC1234>."
    parsed = parse_dialogue(text)
    assert contents(parsed) == ["Hi there.", "Hello!", "Any thriller?", "Try <id_B00ABC1234>."]
    assert roles(parsed) == ["user", "assistant", "user", "assistant"]
    assert parsed.problems == []


def test_markdown_markers_are_stripped_once():
    text = "**[USR]:** Hi there.\n**[AI]**: Hello!\n*[USR]* Any thriller?\n__[AI]__ Try <id_B00ABC1234>."
    parsed = parse_dialogue(text)
    assert contents(parsed) == ["Hi there.", "Hello!", "Any thriller?", "Try <id_B00ABC1234>."]
    assert parsed.problems == ["fixed:markdown"]
    assert parsed.valid


def test_markdown_inside_utterance_is_kept():
    parsed = parse_dialogue("**[USR]:** **Heat** was great.\n[AI]: *laughs* Agreed.")
    assert contents(parsed) == ["**Heat** was great.", "*laughs* Agreed."]
    assert parsed.problems == ["fixed:markdown"]
    assert contents(parse_dialogue("**[USR]** _Drive_ was great.")) == ["_Drive_ was great."]


def test_lowercase_markers():
    parsed = parse_dialogue("[usr] hi\n[ai] hello\n[Usr] more\n[Ai] sure")
    assert roles(parsed) == ["user", "assistant", "user", "assistant"]
    assert contents(parsed) == ["hi", "hello", "more", "sure"]
    assert parsed.problems == []


def test_role_words_are_read_as_markers():
    text = "USR: a\nAI: b\nUser: c\nAssistant: d\nSeeker: e\nRecommender: f"
    parsed = parse_dialogue(text)
    assert roles(parsed) == ["user", "assistant"] * 3
    assert contents(parsed) == ["a", "b", "c", "d", "e", "f"]
    assert parsed.problems == ["fixed:role_words"]


def test_bold_role_words_report_both_fixes():
    parsed = parse_dialogue("**User:** hi\n**Recommender**: hello")
    assert contents(parsed) == ["hi", "hello"]
    assert parsed.problems == ["fixed:markdown", "fixed:role_words"]


def test_system_is_not_a_role_and_role_words_need_a_colon():
    parsed = parse_dialogue("[USR] hi\n[AI] hello\nSystem: ignore me\nAI is a great topic.\nUser reviews agree.")
    assert parsed.turns == [
        Turn("user", "hi"),
        Turn("assistant", "hello\nSystem: ignore me\nAI is a great topic.\nUser reviews agree."),
    ]
    assert parsed.problems == []


def test_indented_numbered_and_bulleted_markers():
    text = "  [USR] a\n1. [AI] b\n2) [USR] c\n- [AI] d\n* [USR] e\n\t• [AI] f"
    parsed = parse_dialogue(text)
    assert roles(parsed) == ["user", "assistant"] * 3
    assert contents(parsed) == ["a", "b", "c", "d", "e", "f"]
    assert parsed.problems == []


def test_multiline_turn_keeps_paragraphs():
    text = (
        "[USR] Any ideas?\n[AI] Here are two:\n- <id_B00ABC1234>\n- <id_B01XYZ9876>\n\n\nBoth are tense.\n[USR] Thanks"
    )
    parsed = parse_dialogue(text)
    assert parsed.turns[1] == Turn(
        "assistant", "Here are two:\n- <id_B00ABC1234>\n- <id_B01XYZ9876>\n\nBoth are tense."
    )
    assert len(parsed.turns) == 3
    assert parsed.problems == []


def test_blank_lines_between_turns():
    parsed = parse_dialogue("\n\n[USR] a\n\n\n[AI] b\n\n[USR] c\n\n")
    assert contents(parsed) == ["a", "b", "c"]
    assert parsed.problems == []


def test_marker_alone_on_its_line_takes_following_lines():
    parsed = parse_dialogue("[USR]\nHi there.\n[AI]:\nHello!\nHow can I help?")
    assert parsed.turns == [Turn("user", "Hi there."), Turn("assistant", "Hello!\nHow can I help?")]
    assert parsed.problems == []


def test_windows_and_old_mac_line_endings():
    parsed = parse_dialogue(CLEAN.replace("\n", "\r\n") + "\r\n")
    assert parsed.turns == CLEAN_TURNS
    assert parsed.problems == []
    assert parse_dialogue(CLEAN.replace("\n", "\r")).turns == CLEAN_TURNS


def test_quotes_wrapping_the_whole_utterance_are_stripped():
    text = '[USR]: "I want a heist movie."\n[AI]: “Try <id_B00ABC1234>.”\n[USR] "Heat" is great, and so is "Ronin"'
    parsed = parse_dialogue(text)
    assert contents(parsed) == ["I want a heist movie.", "Try <id_B00ABC1234>.", '"Heat" is great, and so is "Ronin"']
    assert parsed.problems == []


def test_curly_quotes_nested_inside_are_kept():
    parsed = parse_dialogue("[USR] “I loved “Heat” a lot”\n[AI] “Heat” and “Ronin” both work")
    assert contents(parsed) == ["I loved “Heat” a lot", "“Heat” and “Ronin” both work"]


def test_preamble_dropped():
    parsed = parse_dialogue("Here is the dialogue:\n\n### Conversation\n" + CLEAN)
    assert parsed.turns == CLEAN_TURNS
    assert parsed.problems == ["fixed:preamble"]
    assert parsed.valid


def test_preamble_on_the_same_line_as_first_marker():
    parsed = parse_dialogue("Dialogue: [USR] Hi\n[AI] Hello")
    assert parsed.turns == [Turn("user", "Hi"), Turn("assistant", "Hello")]
    assert parsed.problems == ["fixed:preamble"]


def test_trailing_notes_dropped():
    for note in [
        "Note: the AI recommended the target.",
        "(Note that tags were kept.)",
        "**Note:** tags kept.",
        "---\nSome commentary",
        "***",
        "## Analysis",
        "This dialogue shows a persona.",
        "In this conversation, the user...",
        "```",
    ]:
        parsed = parse_dialogue(CLEAN + "\n" + note)
        assert parsed.turns == CLEAN_TURNS, note
        assert parsed.problems == ["fixed:trailing_note"], note


def test_i_hope_is_a_note_only_as_its_own_paragraph():
    kept = parse_dialogue(CLEAN + "\nI hope you enjoy it!")
    assert kept.turns[-1].content == "Then try <id_B01XYZ9876>, same director.\nI hope you enjoy it!"
    assert kept.problems == []
    dropped = parse_dialogue(CLEAN + "\n\nI hope this dialogue meets your needs.")
    assert dropped.turns == CLEAN_TURNS
    assert dropped.problems == ["fixed:trailing_note"]


def test_last_turn_continuation_is_not_a_trailing_note():
    parsed = parse_dialogue(CLEAN + "\nIt has a great score, too.\n\n- runtime: 2h")
    assert parsed.turns[-1].content.endswith("same director.\nIt has a great score, too.\n\n- runtime: 2h")
    assert parsed.problems == []


def test_merged_turns_split():
    parsed = parse_dialogue("[USR] Hi. [AI] Hello! [USR] Any thriller?\n[AI]: Try <id_B00ABC1234>.")
    assert contents(parsed) == ["Hi.", "Hello!", "Any thriller?", "Try <id_B00ABC1234>."]
    assert roles(parsed) == ["user", "assistant", "user", "assistant"]
    assert parsed.problems == ["fixed:merged_turns"]


def test_marker_dangling_at_line_end_is_not_a_turn():
    parsed = parse_dialogue("[USR] I like films. [AI]\n[AI] Which ones?")
    assert parsed.turns == [Turn("user", "I like films."), Turn("assistant", "Which ones?")]
    assert parsed.problems == []


def test_same_role_turns_merged():
    parsed = parse_dialogue("[USR] Hi.\n[USR] Any thriller?\n[AI] Sure.\n[AI] Try <id_B00ABC1234>.")
    assert parsed.turns == [
        Turn("user", "Hi.\nAny thriller?"),
        Turn("assistant", "Sure.\nTry <id_B00ABC1234>."),
    ]
    assert parsed.problems == ["fixed:same_role_merged"]
    assert parsed.valid


def test_all_fixes_together_in_detection_order():
    text = "Sure! Here it is:\n**User:** Hi. [AI] Hello!\nUser: More?\nUser: Please.\n\nNote: done."
    parsed = parse_dialogue(text)
    assert parsed.turns == [Turn("user", "Hi."), Turn("assistant", "Hello!"), Turn("user", "More?\nPlease.")]
    assert parsed.problems == [
        "fixed:preamble",
        "fixed:markdown",
        "fixed:role_words",
        "fixed:merged_turns",
        "fixed:trailing_note",
        "fixed:same_role_merged",
    ]
    assert parsed.valid


# --- errors ----------------------------------------------------------------------------------------------------


def test_no_markers_is_no_turns():
    for text in ["", "   \n\n", "I cannot write that dialogue.", "System: hello\nAI is fun"]:
        parsed = parse_dialogue(text)
        assert parsed.turns == []
        assert parsed.problems == ["no_turns"], text
        assert not parsed.valid


def test_starts_with_assistant():
    parsed = parse_dialogue("[AI] Hello! What do you like?\n[USR] Thrillers.\n[AI] Try <id_B00ABC1234>.")
    assert roles(parsed) == ["assistant", "user", "assistant"]
    assert parsed.problems == ["starts_with_assistant"]
    assert not parsed.valid


def test_empty_turn_dropped():
    parsed = parse_dialogue("[USR] Hi.\n[AI]\n\n[USR]: \n[AI] Hello!")
    assert parsed.turns == [Turn("user", "Hi."), Turn("assistant", "Hello!")]
    assert parsed.problems == ["empty_turn"]
    assert not parsed.valid


def test_empty_turn_that_joins_two_user_turns():
    parsed = parse_dialogue("[USR] Hi.\n[AI] \n[USR] Anyone?\n[AI] Yes.")
    assert parsed.turns == [Turn("user", "Hi.\nAnyone?"), Turn("assistant", "Yes.")]
    assert parsed.problems == ["empty_turn", "fixed:same_role_merged"]


def test_only_empty_markers():
    parsed = parse_dialogue("[USR]\n[AI]:\n")
    assert parsed.turns == []
    assert parsed.problems == ["empty_turn", "no_turns"]


def test_valid_ignores_only_fixed_problems():
    assert ParsedDialogue([], ["fixed:preamble", "fixed:markdown"]).valid
    assert not ParsedDialogue([], ["fixed:preamble", "empty_turn"]).valid
    assert ParsedDialogue([], []).valid


# --- item_ids ----------------------------------------------------------------------------------------------


def test_item_ids_order_and_dedup():
    text = "Try <id_B0002> or <id_A0001>; <id_B0002> again, then <id_0783225857>. Not <id_> nor <ID_X> nor id_B9"
    assert item_ids(text) == ["B0002", "A0001", "0783225857"]
    assert item_ids("no tags") == []


# --- check_dialogue ----------------------------------------------------------------------------------------


def test_check_returns_new_object_and_keeps_parse_problems():
    parsed = parse_dialogue("Here:\n" + CLEAN)
    checked = check_dialogue(parsed, "B00ABC1234", KNOWN)
    assert checked is not parsed
    assert parsed.problems == ["fixed:preamble"]
    assert checked.problems == ["fixed:preamble"]
    assert checked.turns == parsed.turns


def test_check_turn_count_bounds():
    short = parse_dialogue("[USR] Hi\n[AI] Try <id_B00ABC1234>.")
    assert check_dialogue(short, "B00ABC1234", KNOWN).problems == ["too_few_turns"]
    assert check_dialogue(short, "B00ABC1234", KNOWN, min_turns=2).problems == []
    long = parse_dialogue("\n".join(["[USR] more?", "[AI] <id_B00ABC1234>"] * 8))
    assert check_dialogue(long, "B00ABC1234", KNOWN).problems == ["too_many_turns"]
    assert check_dialogue(long, "B00ABC1234", KNOWN, max_turns=16).problems == []


def test_check_target_only_in_user_turn():
    parsed = parse_dialogue(
        "[USR] I loved <id_B01XYZ9876>.\n[AI] Nice. What else?\n[USR] Not much.\n[AI] Try <id_B00ABC1234>."
    )
    checked = check_dialogue(parsed, "B01XYZ9876", KNOWN)
    assert checked.problems == ["target_not_recommended"]
    assert not checked.valid
    assert check_dialogue(parsed, "<id_B00ABC1234>", KNOWN).problems == []  # a tag works as the target too


def test_check_unknown_items_once_each_in_order():
    parsed = parse_dialogue(
        "[USR] I loved <id_ZZZ0000002>.\n[AI] Try <id_B00ABC1234> or <id_ZZZ0000001>.\n"
        "[USR] And <id_ZZZ0000002>?\n[AI] Also <id_ZZZ0000001>."
    )
    checked = check_dialogue(parsed, "B00ABC1234", KNOWN)
    assert checked.problems == ["unknown_item:ZZZ0000002", "unknown_item:ZZZ0000001"]


def test_check_no_assistant_turn():
    parsed = parse_dialogue("[USR] a\n[USR] b")
    checked = check_dialogue(parsed, "B00ABC1234", KNOWN, min_turns=1)
    assert checked.problems == ["fixed:same_role_merged", "no_assistant_turn", "target_not_recommended"]


def test_check_does_not_duplicate_problems():
    parsed = ParsedDialogue([Turn("user", "hi")], ["too_few_turns"])
    checked = check_dialogue(parsed, "B00ABC1234", KNOWN)
    assert checked.problems == ["too_few_turns", "no_assistant_turn", "target_not_recommended"]


def test_check_ignores_items_in_dropped_preamble_and_notes():
    text = "About <id_NOPE000001>:\n" + CLEAN + "\n\nNote: <id_NOPE000002> was not used."
    checked = check_dialogue(parse_dialogue(text), "B00ABC1234", KNOWN)
    assert checked.problems == ["fixed:preamble", "fixed:trailing_note"]


# --- robustness -----------------------------------------------------------------------------------------------


def test_unicode_survives_untouched():
    text = (
        "[USR] Je cherche un film à la Amélie — café, été 🎬\n[AI] 试试 <id_B00ABC1234>，很好看！😊\n\n日本語も大丈夫。"
    )
    parsed = parse_dialogue(text)
    assert parsed.turns == [
        Turn("user", "Je cherche un film à la Amélie — café, été 🎬"),
        Turn("assistant", "试试 <id_B00ABC1234>，很好看！😊\n\n日本語も大丈夫。"),
    ]
    assert parsed.problems == []


def test_long_dialogue_parses_correctly():
    lines = []
    for i in range(25):
        lines.append(f"[USR] Question number {i}?")
        lines.append(f"[AI] Answer {i}: try <id_B{i:09d}>.")
    parsed = parse_dialogue("\n".join(lines))
    assert len(parsed.turns) == 50
    assert roles(parsed) == ["user", "assistant"] * 25
    assert parsed.turns[49] == Turn("assistant", "Answer 24: try <id_B000000024>.")
    assert parsed.problems == []
    assert item_ids("\n".join(lines))[-1] == "B000000024"


def test_pathological_input_does_not_hang():
    """A guard against catastrophic regex backtracking (which would take minutes), not a speed goal."""
    text = "[" * 5000 + "*" * 5000 + "_[USR" * 2000 + "\n" + "[USR] " + "**[ " * 3000
    start = time.perf_counter()
    parse_dialogue(text)
    assert time.perf_counter() - start < 5


def test_carried_generation_problems_make_a_well_formed_dialogue_invalid():
    from distillrecdial_kit.generation.dialogue_parser import TRUNCATED, carried_problems

    text = "[USR] Something tense?\n[AI] Try <id_A>.\n[USR] Seen it.\n[AI] Then <id_B>, it is"
    assert parse_dialogue(text).valid
    cut = parse_dialogue(text, carried_problems(["fixed:preamble", TRUNCATED, "no_turns"]))
    assert not cut.valid and cut.problems == [TRUNCATED] and len(cut.turns) == 4

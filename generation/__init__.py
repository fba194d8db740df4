"""From source dumps to prompts, LLM dialogues and the student's SFT set."""

"""A model's analysis (any OpenAI-compatible endpoint), never trusted beyond the KB and allow-lists.

config   LLMSettings and the ONCALL_LLM_* environment for the CLI
redact   the one function that masks text before it is sent to a model
client   the ChatModel interface; openai_chat its adapter over the `openai` client
facts    the incident and the candidate entries (the agent's ranking) shown to the model
prompt   the incident and candidates as delimited data, capped in size
answer   parsing and validating the model's JSON
bounds   what of an answer is accepted: offered entries only, parameters through the allow-lists
advisor  asking with cache, token budget, retries and a deadline
explain  one incident explained, or the fallback on any LLMError; audited
review   the same inside a resolution: the accepted choice, gated by approval
"""

"""What a secret looks like, and the one function that masks it (as DuckDB SQL).

`mask_secrets` is applied to stored key ids and rejected raw text at ingest (readers) and,
through `costkit.core.safe_output`, to every string costkit prints or writes.
"""

from __future__ import annotations

from costkit.core.sql import quote

# What a secret looks like, in RE2 syntax (DuckDB's regular expressions). `mask_secrets` is
# the one function that applies these rules: to stored key ids and rejected raw text at
# ingest, and (through costkit.core.safe_output) to every string costkit prints or writes.

# Prefixes that make a long token a secret on their own (sk-proj-..., sk_live_..., ghp_...,
# github_pat_..., xoxb-..., hf_..., npm_..., whsec_...).
_STRONG = "sk|rk|pk|sess|ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abprse]|hf|npm|pypi|whsec"
# Prefixes that also start readable names (key_search_staging): a secret only with a digit.
_WEAK = "ak|api|key|secret|token"
_TOKEN = r"[A-Za-z0-9_\-]"
_WS = "' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)"
SECRET_RULES = (
    # "api_key_id": "...", "Authorization": "Bearer ...": the string value of a JSON field
    # named for a credential, whatever it looks like (a raw text cut short may end in it)
    r'"(?:[A-Za-z0-9_\-]*[_\-])?(?i:api_?key|key|secret|password|passwd|token|authorization'
    r'|credentials?)(?:_id)?"\s*:\s*"(?:[^"\\…]{8,}"|[^"\\…]+$)',
    # ?api_key=... in a URL
    r"[?&](?i:api_?key|key|token|access_token|secret|password|sig|signature)=[^&\s\"'#…]{8,}",
    r"(?i:bearer)\s+[A-Za-z0-9_\-.=+/~]{16,}",
    # a JWT: base64url header (always `{"` -> eyJ), payload, signature
    r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bAIza[0-9A-Za-z_\-]{30,}",  # Google API keys
    rf"\b(?i:{_STRONG})[-_]{_TOKEN}{{12,}}",
    rf"\b(?i:{_WEAK})[-_]{_TOKEN}{{12,}}",  # kept when it has no digit (see _mask_match)
)
SECRET = "|".join(SECRET_RULES)
# The rules a bare value (no field name, no parameter, no Bearer) can match whole.
_BARE = "|".join(SECRET_RULES[3:])
# A quick test that finds every text SECRET changes (and few it does not): the weak rule
# with a digit required (12+ token characters with a digit: the first digit at 0..10, or
# after 11 others). Most texts fail it and skip the masking work.
_WITH_DIGIT = "|".join([*(f"{_TOKEN}{{{i}}}[0-9]{_TOKEN}{{{11 - i},}}" for i in range(11)),
                        f"{_TOKEN}{{11,}}[0-9]"])
_MAYBE = "|".join([*SECRET_RULES[:-1], rf"\b(?i:{_WEAK})[-_](?:{_WITH_DIGIT})"])
# The same for a key id: also an opaque token, or anything after `Bearer `.
_KEY_MAYBE = _MAYBE + r"|[A-Za-z0-9_\-.]{24,}|^\s*(?i:bearer)\s"
# What a match keeps in clear: the field name or parameter, and a `Bearer ` word.
_KEEP = r'^(?:"[^"]*"\s*:\s*"|[?&][^=]*=)?(?:(?i:bearer)\s+)?'


def _masked(secret: str) -> str:
    """SQL: one secret as `sk-…abcd#1a2b3c4d`: its kind prefix, its last four characters
    (what provider dashboards show; only for 16+ characters) and 8 hex of its SHA-256, so
    two keys with the same tail stay apart and one key reads the same everywhere."""
    return (f"(regexp_extract({secret}, '^([A-Za-z]+[-_])', 1) || '…' "
            f"|| (CASE WHEN length({secret}) >= 16 THEN right({secret}, 4) ELSE '' END) "
            f"|| '#' || left(sha256({secret}), 8))")


def _key_secret(value: str) -> str:
    """SQL: TRUE when a key id (trimmed) is itself a secret: a shape of SECRET_RULES whole,
    or an opaque token (24+ letters and digits, or 24+ token characters with a digit).
    Readable ids such as `key_search_staging` name a key: FALSE."""
    return (f"((regexp_full_match({value}, {quote(_BARE)}) "
            f"AND NOT regexp_full_match({value}, '(?i:{_WEAK})[-_][^0-9]*')) "
            f"OR (length({value}) >= 24 AND regexp_full_match({value}, '[A-Za-z0-9_\\-.]+') "
            f"AND regexp_matches({value}, '[0-9]|^[A-Za-z0-9]+$')))")


def _mask_match(m: str) -> str:
    """SQL: one match of SECRET (`m`) with its secret part masked. A bare weak-prefixed
    name without a digit stays; so does the value of an `..._id` field that `_key_secret`
    finds readable (the stored key id column keeps it too). The kept prefix and the secret
    are bound once each (a one-item list_transform): inlined, each use would compile its
    regular expressions again."""
    body = f"substr({m}, length(ck_k) + 1)"
    close = (f"(CASE WHEN starts_with({m}, '\"') AND ends_with({body}, '\"') "
             f"THEN '\"' ELSE '' END)")
    readable = (f"(ck_k = '' AND regexp_matches({m}, '^(?i:{_WEAK})[-_]') "
                f"AND NOT regexp_matches({m}, '[0-9]') "
                f"OR regexp_matches(ck_k, '_id\"\\s*:\\s*\"$') "
                f"AND NOT {_key_secret('ck_s')})")
    masked = f"(CASE WHEN {readable} THEN {m} ELSE ck_k || {_masked('ck_s')} || {close} END)"
    secret = f"substr({body}, 1, length({body}) - length({close}))"
    return (f"list_transform([regexp_extract({m}, {quote(_KEEP)}, 0)], lambda ck_k: "
            f"list_transform([{secret}], lambda ck_s: {masked})[1])[1]")


def mask_secrets(sql: str, key: bool = False) -> str:
    """SQL: the text `sql` with every secret in it masked (see SECRET_RULES and `_masked`).

    `key=True`: the value is an api_key_id. Trimmed of surrounding blanks and a `Bearer `
    prefix, it is masked whole when `_key_secret` says it is a secret (or it came with
    `Bearer `), so ` sk_live_X`, `sk_live_X` + newline, `Bearer sk_live_X` and `sk_live_X`
    are one masked key.

    Masked text never matches again (`…` is in no rule), so masking twice changes nothing:
    stores written before these rules are masked again on the way out.
    """
    matches = f"regexp_extract_all({sql}, {quote(SECRET)})"
    pieces = f"regexp_split_to_array({sql}, {quote(SECRET)})"
    each = f"list_transform({matches}, lambda ck_m: {_mask_match('ck_m')})"
    text = (f"array_to_string(list_transform(list_zip({pieces}, {each}), "
            f"lambda ck_p: ck_p[1] || coalesce(ck_p[2], '')), '')")
    if not key:
        return (f"(CASE WHEN {sql} IS NULL OR NOT regexp_matches({sql}, {quote(_MAYBE)}) "
                f"THEN {sql} ELSE {text} END)")
    # Most key ids have no blanks around them and no `Bearer `: tested as they are; the
    # others trimmed first (inlined SQL: each use of `value` would trim again).
    padded = f"regexp_matches({sql}, '^(?:\\s|(?i:bearer)\\s)|\\s$')"
    trimmed = f"trim({sql}, {_WS})"
    value = (f"(CASE WHEN lower(left({trimmed}, 6)) = 'bearer' "
             f"THEN ltrim(substr({trimmed}, 7), {_WS}) ELSE {trimmed} END)")
    bearer = f"regexp_matches({sql}, '^\\s*(?i:bearer)\\s+\\S')"
    return (f"(CASE WHEN {sql} IS NULL OR NOT regexp_matches({sql}, {quote(_KEY_MAYBE)}) "
            f"THEN {sql} "
            f"WHEN NOT {padded} THEN (CASE WHEN {_key_secret(sql)} THEN {_masked(sql)} "
            f"WHEN regexp_matches({sql}, {quote(_MAYBE)}) THEN {text} ELSE {sql} END) "
            f"WHEN {bearer} OR {_key_secret(value)} THEN {_masked(value)} "
            f"WHEN regexp_matches({sql}, {quote(_MAYBE)}) THEN {text} ELSE {sql} END)")

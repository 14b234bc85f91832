"""Identities and authorization: principals, tokens, and the one policy that decides who may do what.

`principal` (who is asking; no I/O) → `tokens` (principals, hashed tokens, members) → `policy` (the table of
actions and the decision) → `gate` (the ASGI middleware every HTTP request and WebSocket passes through).
"""

"""The integrator API: a POS on the LAN drives the terminal over HTTPS.

A request becomes an event for the machine exactly as a key press does (``service``);
what the machine decided comes back with the step and is answered as JSON
(``resources``), errors always as problem+json (``problems``). Pairings, idempotency keys
and event ids are in the journal (``terminal/journal/api_store.py``). The HTTP stack is
Starlette on uvicorn (``routes``, ``server``); the certificate is made at the first start
(``tls``); ``events`` serves the Server-Sent Events stream and ``openapi`` the contract.
"""

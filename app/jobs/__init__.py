"""Batch jobs: many addresses checked by workers, read back page by page, reported by signed webhooks.

- `inputs`: the addresses of a job, from a JSON list or an uploaded CSV/TXT file, canonicalised.
- `models`: what the API answers and webhooks send about jobs and their items (pydantic).
- `runner`: one unit of work (a canonical address of a job): the report cache, the site's lock, the check, the
  lease kept alive while it runs, and finishing it in the store.
- `locks`: one site at a time (registrable domain), in this process or across workers through Redis.
- `local`: the runner inside the service's own process (the default, no Redis).
- `redisq`: the Redis queue (arq): the service enqueues, `pharmacheck worker` processes check.
- `webhooks`: signing (HMAC-SHA256) and delivering webhooks through the fetch module, with back-off.
"""

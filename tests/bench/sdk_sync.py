"""One sync through Cloudflare's official Python SDK, the cold-start baseline of
BENCHMARKS.md. Run it with the interpreter of a virtualenv that has
`pip install cloudflare` (the SDK is not a dependency of this repository)."""

import os

from cloudflare import Cloudflare

client = Cloudflare(
    api_token=os.environ["CLOUDFLARE_API_TOKEN"],
    base_url=os.environ["CLOUDFLARE_BASE_URL"],
)
result = client.zero_trust.access.ai_controls.mcp.servers.sync(
    "my-mcp-server", account_id="023e105f4ecef8ad9ca31a8372d0c353"
)
print(result.to_json(indent=None))

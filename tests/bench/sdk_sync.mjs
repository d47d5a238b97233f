// One sync through Cloudflare's official TypeScript SDK, the cold-start baseline of
// BENCHMARKS.md. The SDK is not a dependency of this repository: pass the path of its
// entry point, from an `npm install cloudflare` made elsewhere.
//   node tests/bench/sdk_sync.mjs /tmp/sdk-node/node_modules/cloudflare/index.mjs
const { default: Cloudflare } = await import(process.argv[2]);
const client = new Cloudflare({
  apiToken: process.env.CLOUDFLARE_API_TOKEN,
  baseURL: process.env.CLOUDFLARE_BASE_URL,
});
const result = await client.zeroTrust.access.aiControls.mcp.servers.sync('my-mcp-server', {
  account_id: '023e105f4ecef8ad9ca31a8372d0c353',
});
console.log(JSON.stringify(result));

// How to connect a client with a freshly minted token: shown by first-run bootstrap, seed-token,
// and (later) admin provisioning and invites. The token appears here and nowhere else.

export interface SetupBlock {
  mcp_url: string;
  claude_mcp_add: string;
  mcp_json: {
    mcpServers: { baton: { type: 'http'; url: string; headers: { Authorization: string } } };
  };
  env: { BATON_URL: string; BATON_TOKEN: string };
}

export function setupBlock(publicUrl: string, token: string): SetupBlock {
  const url = `${publicUrl}/mcp`;
  return {
    mcp_url: url,
    claude_mcp_add: `claude mcp add --transport http baton ${url} --header "Authorization: Bearer ${token}"`,
    mcp_json: {
      mcpServers: { baton: { type: 'http', url, headers: { Authorization: `Bearer ${token}` } } },
    },
    env: { BATON_URL: url, BATON_TOKEN: token },
  };
}

// The official Anthropic Node SDK against `cipherline proxy` (/v1/messages):
//   node anthropic_test.mjs http://127.0.0.1:PORT API_KEY
import Anthropic from '@anthropic-ai/sdk';
import { check, done, expect, expectThrows } from './check.mjs';

const [base, apiKey] = process.argv.slice(2);
// The SDK sends the key as X-Api-Key; the proxy takes it as the bearer token.
const client = new Anthropic({ baseURL: base, apiKey, maxRetries: 0 });
const user = (content) => [{ role: 'user', content }];

await check('messages.create', async () => {
  const m = await client.messages.create({
    model: 'synthetic',
    max_tokens: 64,
    messages: user('anthropic unary'),
  });
  expect(m.type === 'message' && m.role === 'assistant', `message ${JSON.stringify(m)}`);
  const text = m.content.map((c) => c.text ?? '').join('');
  expect(text.includes('anthropic unary'), `text ${text}`);
  expect(m.usage.output_tokens > 0, `usage ${JSON.stringify(m.usage)}`);
});

await check('messages.stream', async () => {
  const stream = client.messages.stream({
    model: 'synthetic',
    max_tokens: 64,
    messages: user('anthropic streamed'),
  });
  let text = '';
  stream.on('text', (delta) => {
    text += delta;
  });
  const final = await stream.finalMessage();
  expect(text.includes('anthropic streamed'), `streamed text ${text}`);
  const joined = final.content.map((c) => c.text ?? '').join('');
  expect(joined === text, `final message ${joined} vs streamed ${text}`);
});

await check('unknown model: BadRequestError naming it', async () => {
  const e = await expectThrows(Anthropic.BadRequestError, () =>
    client.messages.create({ model: 'claude-unknown-9', max_tokens: 8, messages: user('x') }),
  );
  expect(e.status === 400, `status ${e.status}`);
  expect(e.message.includes('claude-unknown-9'), `message ${e.message}`);
  expect(e.error?.type === 'error', `body ${JSON.stringify(e.error)}`);
  expect(e.error?.error?.type === 'invalid_request_error', `body ${JSON.stringify(e.error)}`);
});

await check('wrong API key: AuthenticationError', async () => {
  const wrong = new Anthropic({ baseURL: base, apiKey: 'not-the-key', maxRetries: 0 });
  await expectThrows(Anthropic.AuthenticationError, () =>
    wrong.messages.create({ model: 'synthetic', max_tokens: 8, messages: user('x') }),
  );
});

await check('tools: tool_use, unary and streamed', async () => {
  const body = {
    model: 'synthetic',
    max_tokens: 64,
    tools: [
      {
        name: 'get_weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ],
    tool_choice: { type: 'any' },
    messages: user('weather in Paris please'),
  };
  const m = await client.messages.create(body);
  const use = m.content.find((c) => c.type === 'tool_use');
  expect(m.stop_reason === 'tool_use', `stop_reason ${m.stop_reason}`);
  expect(use?.name === 'get_weather' && typeof use.input.city === 'string', JSON.stringify(m.content));
  const final = await client.messages.stream(body).finalMessage();
  const streamed = final.content.find((c) => c.type === 'tool_use');
  expect(JSON.stringify(streamed?.input) === JSON.stringify(use.input),
    `streamed input ${JSON.stringify(streamed?.input)} vs ${JSON.stringify(use.input)}`);
});

done();

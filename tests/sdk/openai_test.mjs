// The official OpenAI Node SDK against `cipherline proxy`:
//   node openai_test.mjs http://127.0.0.1:PORT API_KEY
import { createHash } from 'node:crypto';
import OpenAI, { toFile } from 'openai';
import { check, done, expect, expectThrows } from './check.mjs';

const [base, apiKey] = process.argv.slice(2);
// No retries of the SDK's own: every answer is the proxy's first.
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
const user = (content) => [{ role: 'user', content }];

await check('chat.completions.create', async () => {
  const r = await client.chat.completions.create({
    model: 'synthetic',
    messages: user('unary through the sdk'),
  });
  expect(r.object === 'chat.completion', `object ${r.object}`);
  const text = r.choices[0].message.content;
  expect(text.includes('unary through the sdk'), `content ${text}`);
  expect(r.usage.total_tokens > 0, `usage ${JSON.stringify(r.usage)}`);
});

await check('chat.completions.create stream', async () => {
  const stream = await client.chat.completions.create({
    model: 'synthetic',
    messages: user('streamed through the sdk'),
    stream: true,
  });
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  expect(chunks > 2, `${chunks} chunks`);
  expect(text.includes('streamed through the sdk'), `content ${text}`);
});

await check('stream_options.include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'synthetic',
    messages: user('count my tokens'),
    stream: true,
    stream_options: { include_usage: true },
  });
  let last;
  for await (const chunk of stream) last = chunk;
  expect(last?.usage?.total_tokens > 0, `last chunk ${JSON.stringify(last)}`);
  expect(last.choices.length === 0, `last chunk has choices ${JSON.stringify(last.choices)}`);
});

await check('models.list', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  expect(ids.includes('synthetic'), `ids ${ids}`);
});

await check('models.retrieve', async () => {
  const model = await client.models.retrieve('synthetic');
  expect(model.id === 'synthetic' && model.object === 'model', JSON.stringify(model));
});

await check('models.retrieve unknown: NotFoundError', async () => {
  const e = await expectThrows(OpenAI.NotFoundError, () => client.models.retrieve('no-such-model'));
  expect(e.status === 404, `status ${e.status}`);
  expect(e.message.includes('no-such-model'), `message ${e.message}`);
  expect(e.code === 'model_not_found', `code ${e.code}`);
});

await check('unknown model: BadRequestError naming it', async () => {
  const e = await expectThrows(OpenAI.BadRequestError, () =>
    client.chat.completions.create({ model: 'gpt-unknown-7', messages: user('x') }),
  );
  expect(e.message.includes('gpt-unknown-7'), `message ${e.message}`);
  expect(e.type === 'invalid_request_error', `type ${e.type}`);
});

await check('embeddings.create: base64 (the default) equals float', async () => {
  const input = ['embed me', 'and me'];
  const byDefault = await client.embeddings.create({ model: 'synthetic', input });
  const floats = await client.embeddings.create({
    model: 'synthetic',
    input,
    encoding_format: 'float',
  });
  expect(byDefault.data.length === 2 && floats.data.length === 2, 'two embeddings each');
  for (let i = 0; i < 2; i++) {
    const a = Array.from(byDefault.data[i].embedding);
    const b = floats.data[i].embedding;
    expect(a.length === b.length && a.length > 0, `lengths ${a.length} and ${b.length}`);
    // base64 carries float32: equal to float32 precision.
    const worst = Math.max(...a.map((x, j) => Math.abs(x - b[j])));
    expect(worst < 1e-6, `embedding ${i} differs by ${worst}`);
  }
});

// The SDK tolerates a server that ignores encoding_format (it keeps a float
// array), so the default alone proves little: asked explicitly, the answer
// must be base64 of little-endian float32, as OpenAI's API sends it.
await check('embeddings.create encoding_format base64: the server encodes', async () => {
  const input = ['embed me'];
  const encoded = await client.embeddings.create({
    model: 'synthetic',
    input,
    encoding_format: 'base64',
  });
  const floats = await client.embeddings.create({
    model: 'synthetic',
    input,
    encoding_format: 'float',
  });
  const text = encoded.data[0].embedding;
  expect(typeof text === 'string', `embedding is ${typeof text}, not a base64 string`);
  const bytes = Buffer.from(text, 'base64');
  const decoded = Array.from(
    new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
  );
  const b = floats.data[0].embedding;
  expect(decoded.length === b.length, `lengths ${decoded.length} and ${b.length}`);
  const worst = Math.max(...decoded.map((x, j) => Math.abs(x - b[j])));
  expect(worst < 1e-6, `differs by ${worst}`);
});

await check('wrong API key: AuthenticationError', async () => {
  const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'not-the-key', maxRetries: 0 });
  const e = await expectThrows(OpenAI.AuthenticationError, () =>
    wrong.chat.completions.create({ model: 'synthetic', messages: user('x') }),
  );
  expect(e.status === 401, `status ${e.status}`);
  expect(e.message.includes('API key'), `message ${e.message}`);
});

await check('n=2: choices kept apart, unary and streamed', async () => {
  const body = { model: 'synthetic', n: 2, messages: user('two ways') };
  const r = await client.chat.completions.create(body);
  expect(r.choices.length === 2, `${r.choices.length} choices`);
  const texts = r.choices.map((c) => c.message.content);
  expect(texts[0] !== texts[1], `choices equal: ${texts}`);
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const streamed = ['', ''];
  for await (const chunk of stream) {
    for (const c of chunk.choices) streamed[c.index] += c.delta?.content ?? '';
  }
  expect(streamed[0] === texts[0] && streamed[1] === texts[1], `streamed ${streamed} vs ${texts}`);
});

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

await check('tools: a tool call, unary and streamed (the SDK assembles it)', async () => {
  const body = {
    model: 'synthetic',
    tools: [weather],
    tool_choice: 'required',
    messages: user('what is the weather in Berlin'),
  };
  const r = await client.chat.completions.create(body);
  const call = r.choices[0].message.tool_calls?.[0];
  expect(r.choices[0].finish_reason === 'tool_calls', `finish ${r.choices[0].finish_reason}`);
  expect(call?.function?.name === 'get_weather', `call ${JSON.stringify(call)}`);
  const args = JSON.parse(call.function.arguments);
  expect(typeof args.city === 'string', `arguments ${call.function.arguments}`);
  const runner = client.chat.completions.stream(body);
  const final = await runner.finalChatCompletion();
  const streamed = final.choices[0].message.tool_calls?.[0];
  expect(streamed?.function?.arguments === call.function.arguments,
    `streamed arguments ${streamed?.function?.arguments} vs ${call.function.arguments}`);
  expect(streamed.id === call.id, `ids ${streamed.id} vs ${call.id}`);
});

await check('response_format json_object: the content parses', async () => {
  const r = await client.chat.completions.create({
    model: 'synthetic',
    response_format: { type: 'json_object' },
    messages: user('answer as json'),
  });
  const parsed = JSON.parse(r.choices[0].message.content);
  expect(typeof parsed === 'object' && parsed !== null, `content ${r.choices[0].message.content}`);
});

await check('logprobs and reasoning fields come through', async () => {
  const r = await client.chat.completions.create({
    model: 'synthetic',
    logprobs: true,
    top_logprobs: 2,
    reasoning_effort: 'low',
    messages: user('think about it'),
  });
  const choice = r.choices[0];
  const lp = choice.logprobs?.content;
  expect(Array.isArray(lp) && lp.length > 0, `logprobs ${JSON.stringify(choice.logprobs)}`);
  expect(lp[0].top_logprobs.length === 2, `top_logprobs ${JSON.stringify(lp[0])}`);
  expect(lp.map((t) => t.token).join('') === choice.message.content, 'tokens join to the content');
  const reasoning = choice.message.reasoning_content;
  expect(typeof reasoning === 'string' && reasoning.length > 0, `message ${JSON.stringify(choice.message)}`);
});

await check('audio.transcriptions.create: the file and the form arrive', async () => {
  const audio = Buffer.alloc(64000, 7);
  const digest = createHash('sha256').update(audio).digest('hex').slice(0, 16);
  const t = await client.audio.transcriptions.create({
    model: 'synthetic',
    file: await toFile(audio, 'speech.wav', { type: 'audio/wav' }),
    language: 'de',
    prompt: 'a hint',
  });
  expect(t.text.includes(`64000 bytes, sha256 ${digest}`), `text ${t.text}`);
  expect(t.text.includes('language de') && t.text.includes('prompt: a hint'), `text ${t.text}`);
  const verbose = await client.audio.transcriptions.create({
    model: 'synthetic',
    file: await toFile(audio, 'speech.wav'),
    response_format: 'verbose_json',
  });
  expect(Math.abs(verbose.duration - 2) < 1e-9, `duration ${verbose.duration}`);
  expect(verbose.segments?.length === 1, `segments ${JSON.stringify(verbose.segments)}`);
});

done();

// Emits one UsageEvent to usage.events, as any Node service would.
//   KAFKA_BOOTSTRAP        e.g. localhost:9092
//   SCHEMA_REGISTRY_URL    the registry root, e.g. http://localhost:8081 (its Confluent API is /apis/ccompat/v7)
//   TOKENLEDGER_TOPIC      default usage.events
//   USAGE_AVSC             default ../../../schemas/src/main/avro/UsageEvent.avsc
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Kafka, CompressionTypes } = require('kafkajs');
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');

const topic = process.env.TOKENLEDGER_TOPIC || 'usage.events';
const registry = new SchemaRegistry({
  host: (process.env.SCHEMA_REGISTRY_URL || 'http://localhost:8081').replace(/\/+$/, '') + '/apis/ccompat/v7',
});
const kafka = new Kafka({ clientId: 'quiz-api', brokers: (process.env.KAFKA_BOOTSTRAP || 'localhost:9092').split(',') });
// Idempotent, acks=all (kafkajs requires maxInFlightRequests 1 for idempotence).
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

// UUID version 7: 48-bit Unix milliseconds, version and variant bits, the rest random.
function uuidv7() {
  const b = crypto.randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function main() {
  const avsc = process.env.USAGE_AVSC || path.join(__dirname, '../../../schemas/src/main/avro/UsageEvent.avsc');
  // Registers under <topic>-value (or finds the existing version); the id is what the wire format carries.
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: fs.readFileSync(avsc, 'utf8') },
    { subject: `${topic}-value` },
  );

  // An OpenAI chat completion: prompt_tokens 2006 of which cached 1920, completion_tokens 300.
  // Normalized: input excludes cached tokens, output excludes reasoning tokens.
  const event = {
    event_id: uuidv7(),
    event_time: Date.now(), // timestamp-millis: a number of milliseconds
    org_id: 'acme',
    user_id: 'u-42', // ["null","string"] unions take the plain value or null
    provider: 'openai',
    model: 'gpt-4o-2024-08-06',
    input_tokens: 2006 - 1920,
    cached_input_tokens: 1920,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    output_tokens: 300,
    reasoning_tokens: 0,
    latency_ms: 812,
    endpoint: '/api/quiz',
    request_type: 'chat',
    service: 'quiz-api-node',
    metadata: { language: 'node' },
    batch: false,
  };

  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    compression: CompressionTypes.GZIP,
    // key: the org id as a plain UTF-8 string, so every event of an org lands on one partition
    messages: [{ key: event.org_id, value: await registry.encode(id, event) }],
  });
  await producer.disconnect();
  console.log(`sent ${event.event_id} to ${topic} with schema id ${id}`);
}

main().catch((e) => {
  // A real service would log and count this, never fail the user's request because of it.
  console.error(e);
  process.exit(1);
});

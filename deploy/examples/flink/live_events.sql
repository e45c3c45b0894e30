-- Flink SQL over sportsconnect's normalized topic <prefix>.live.events
-- (schemas/live_event.avsc: sportsconnect.live.Event, Confluent wire format,
-- key = match_id). Per match it computes
--
--   * the running score: one row per event that states a score, the score
--     after that event; the match's current score is its latest row
--     (highest src_offset: a match's events all sit in one partition, since
--     the connector keys them by match_id);
--   * events per minute: one row per match and minute of received_at, with
--     the number of events.
--
-- ${...} are placeholders: the runner (LiveEventsJob) substitutes them; to
-- paste this into Flink's SQL client, substitute them yourself, e.g.
--   EVENTS_TOPIC=sc.live.events ... envsubst < live_events.sql
-- (README.md lists them all). The SQL client also needs the Kafka connector,
-- avro-confluent and json jars in its lib/ (README.md).
--
-- Exactly-once: the source reads read_committed, so records of aborted
-- connector transactions are never counted; both sinks write Kafka
-- transactions committed with Flink's checkpoints, read them read_committed.
-- The source commits its offsets to the consumer group on every completed
-- checkpoint: they are restart points, see README.md for stopping and
-- restarting without counting an event twice or missing one.

-- Flink commits the sinks' transactions and the group's offsets only on a
-- completed checkpoint, so without checkpoints nothing is ever visible.
SET 'execution.checkpointing.interval' = '10 s';
SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
-- The watermark is the slowest partition's: a partition without live
-- matches would hold every minute's row back. After 30 s without records it
-- no longer counts; its next event carries a current received_at anyway.
SET 'table.exec.source.idle-timeout' = '30 s';

-- The source: the columns the queries need, and the Avro reader schema
-- of exactly those fields, copied from schemas/live_event.avsc (its docs left
-- out). Flink finds each record's writer schema in the registry by the id in
-- its first bytes and resolves it against this reader schema: fields the
-- connector adds later are skipped, and an enum symbol this schema does not
-- know reads as OTHER. The reader schema is given because `kind` is an Avro
-- enum, which a schema Flink derives from the columns (string) cannot read.
-- Columns and schema fields must match one to one, in order, nullability
-- included (NOT NULL where the field is not a union with null).
CREATE TABLE live_events (
  match_id      STRING NOT NULL,
  kind          STRING NOT NULL,
  event_time    TIMESTAMP(3),
  received_at   TIMESTAMP(3) NOT NULL,
  score         ROW<home INT, away INT, summary STRING>,
  `position`    STRING NOT NULL,
  source_topic  STRING NOT NULL,
  source_id     STRING NOT NULL,
  -- where the event sits in live.events: lets a reader of the results tell
  -- exactly which events a row covers.
  src_partition INT    METADATA FROM 'partition' VIRTUAL,
  src_offset    BIGINT METADATA FROM 'offset' VIRTUAL,
  -- received_at is the connector's clock when the provider's message
  -- arrived, written in that order: within a partition it only moves
  -- forward (give or take one transaction), so 5 s of slack never drops an
  -- event as late.
  WATERMARK FOR received_at AS received_at - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${EVENTS_TOPIC}',
  'properties.bootstrap.servers' = '${BOOTSTRAP_SERVERS}',
  'properties.group.id' = '${GROUP_ID}',
  -- never see records of aborted (or still open) connector transactions
  'properties.isolation.level' = 'read_committed',
  -- start where the group's committed offsets say; a group without
  -- offsets starts at the beginning of the topic
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'value.format' = 'avro-confluent',
  -- the registry's Confluent-compatible API (Apicurio: .../apis/ccompat/v7)
  'value.avro-confluent.url' = '${SCHEMA_REGISTRY_URL}',
  'value.avro-confluent.schema' = '{"type": "record", "name": "Event", "namespace": "sportsconnect.live", "fields": [
    {"name": "match_id", "type": "string"},
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["OTHER", "MATCH_STATUS",
      "PERIOD_START", "PERIOD_END", "SCORE_CHANGE", "GOAL", "POINT", "WICKET", "BOUNDARY", "CARD",
      "PENALTY", "SUBSTITUTION", "ODDS_CHANGE", "MARKET_SUSPENDED", "MARKET_REOPENED", "CORRECTION"],
      "default": "OTHER"}},
    {"name": "event_time", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": null},
    {"name": "received_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "score", "type": ["null", {"type": "record", "name": "Score", "fields": [
      {"name": "home", "type": ["null", "int"], "default": null},
      {"name": "away", "type": ["null", "int"], "default": null},
      {"name": "summary", "type": ["null", "string"], "default": null}]}], "default": null},
    {"name": "position", "type": "string"},
    {"name": "source_topic", "type": "string"},
    {"name": "source_id", "type": "string"}]}'
);

-- Running score: the score after each event that states one.
CREATE TABLE match_scores (
  match_id      STRING,
  home          INT,
  away          INT,
  summary       STRING,
  kind          STRING,
  event_time    TIMESTAMP(3),
  received_at   TIMESTAMP(3),
  `position`    STRING,
  src_partition INT,
  src_offset    BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = '${SCORES_TOPIC}',
  'properties.bootstrap.servers' = '${BOOTSTRAP_SERVERS}',
  'key.format' = 'raw',
  'key.fields' = 'match_id',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${GROUP_ID}-scores',
  -- at most the broker's transaction.max.timeout.ms (15 min by default)
  'properties.transaction.timeout.ms' = '900000'
);

-- Events per match and minute of received_at. A minute's row is written
-- once the watermark passes its end (or when the job is stopped with
-- --drain). After a restart from the group's offsets without Flink's state
-- (README.md) a minute can come in two rows: add up `events` per
-- (match_id, minute_start).
CREATE TABLE match_events_per_minute (
  match_id      STRING,
  minute_start  TIMESTAMP(3),
  minute_end    TIMESTAMP(3),
  events        BIGINT,
  src_partition INT,
  first_offset  BIGINT,
  last_offset   BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = '${PER_MINUTE_TOPIC}',
  'properties.bootstrap.servers' = '${BOOTSTRAP_SERVERS}',
  'key.format' = 'raw',
  'key.fields' = 'match_id',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${GROUP_ID}-per-minute',
  'properties.transaction.timeout.ms' = '900000'
);

-- Both queries run as one job: one source, one consumer group.
EXECUTE STATEMENT SET
BEGIN

INSERT INTO match_scores
SELECT match_id, score.home, score.away, score.summary, kind,
       event_time, received_at, `position`, src_partition, src_offset
FROM live_events
WHERE score IS NOT NULL;

INSERT INTO match_events_per_minute
SELECT match_id, window_start, window_end, COUNT(*),
       MAX(src_partition), MIN(src_offset), MAX(src_offset)
FROM TABLE(TUMBLE(TABLE live_events, DESCRIPTOR(received_at), INTERVAL '1' MINUTE))
GROUP BY match_id, window_start, window_end;

END;

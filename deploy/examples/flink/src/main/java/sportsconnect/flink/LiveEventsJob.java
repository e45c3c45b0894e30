package sportsconnect.flink;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.CheckpointException;
import org.apache.flink.runtime.checkpoint.CheckpointFailureReason;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.kafka.common.TopicPartition;

/**
 * Runs a Flink SQL file (live_events.sql) on a local Flink mini-cluster in
 * this JVM, after substituting its ${...} placeholders: the bootstrap
 * servers, the registry URL, the live.events topic, the consumer group and
 * the two sink topics. Nothing else of the SQL is changed.
 *
 * <p>The job runs until it is told to stop: a stop file appearing (--stop-file)
 * or SIGTERM/SIGINT. It then stops with a savepoint and drain
 * (JobClient.stopWithSavepoint(true, ...)): the sources stop reading, every
 * open window fires, and one last checkpoint (the savepoint) commits the
 * sinks' transactions. The runner then commits the savepoint's positions in
 * the events topic to the consumer group (SavepointOffsets: Flink's own
 * commit of them can be lost), so the group's offsets are exactly what the
 * job has written results for, and a new job started from them
 * ('scan.startup.mode' = 'group-offsets') neither counts an event twice nor
 * misses one.
 *
 * <p>Progress goes to stdout as one JSON object per line (event = submitted,
 * running, stopping, stopped or failed); Flink's log goes to stderr.
 */
public final class LiveEventsJob {

    private static final PrintStream OUT = System.out;

    /** Placeholder name -> command-line flag. */
    private static final Map<String, String> PLACEHOLDERS = new LinkedHashMap<>();

    static {
        PLACEHOLDERS.put("BOOTSTRAP_SERVERS", "--bootstrap-servers");
        PLACEHOLDERS.put("SCHEMA_REGISTRY_URL", "--schema-registry-url");
        PLACEHOLDERS.put("EVENTS_TOPIC", "--events-topic");
        PLACEHOLDERS.put("GROUP_ID", "--group-id");
        PLACEHOLDERS.put("SCORES_TOPIC", "--scores-topic");
        PLACEHOLDERS.put("PER_MINUTE_TOPIC", "--per-minute-topic");
    }

    private static final String USAGE =
            "usage: LiveEventsJob --sql FILE --bootstrap-servers HOST:PORT[,...]\n"
                    + "         --schema-registry-url URL --events-topic TOPIC --group-id GROUP\n"
                    + "         --scores-topic TOPIC --per-minute-topic TOPIC\n"
                    + "         [--state-dir DIR] [--checkpoint-interval DURATION] [--parallelism N]\n"
                    + "         [--restart-attempts N] [--stop-file FILE] [--commit-savepoint-offsets true|false]\n"
                    + "         [--from-savepoint PATH]\n"
                    + "  --state-dir            checkpoints and savepoints (default ./flink-state)\n"
                    + "  --checkpoint-interval  overrides the SQL's execution.checkpointing.interval (e.g. 1s)\n"
                    + "  --restart-attempts     restarts from the last checkpoint after a failure (default 3;\n"
                    + "                         0: a failure ends the run, exit status 1)\n"
                    + "  --stop-file            stop with savepoint and drain once this file exists\n"
                    + "  --from-savepoint       start from a savepoint or retained checkpoint (Flink's state and\n"
                    + "                         positions) instead of the SQL's scan.startup.mode\n"
                    + "  SIGTERM/SIGINT stop the same way. After the stop, the savepoint's positions in the\n"
                    + "  events topic are committed to the group (unless --commit-savepoint-offsets false).";

    private static final java.util.Set<String> KNOWN = new java.util.HashSet<>(java.util.List.of(
            "--sql", "--state-dir", "--checkpoint-interval", "--parallelism", "--restart-attempts",
            "--stop-file", "--commit-savepoint-offsets", "--from-savepoint"));

    static {
        KNOWN.addAll(PLACEHOLDERS.values());
    }

    private LiveEventsJob() {}

    /** The run's scratch directory, deleted at exit. */
    private static final AtomicReference<Path> TMP = new AtomicReference<>();

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parseArgs(args);
        int status;
        try {
            status = run(opts);
        } catch (Throwable e) {
            emit("failed", "error", rootMessage(e));
            e.printStackTrace();
            status = 1;
        }
        deleteTree(TMP.get());
        System.exit(status);
    }

    private static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        // Flink's own shutdown hooks may be deleting parts of it meanwhile.
        try {
            Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<Path>() {
                @Override
                public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a) {
                    f.toFile().delete();
                    return java.nio.file.FileVisitResult.CONTINUE;
                }

                @Override
                public java.nio.file.FileVisitResult visitFileFailed(Path f, java.io.IOException e) {
                    return java.nio.file.FileVisitResult.CONTINUE;
                }

                @Override
                public java.nio.file.FileVisitResult postVisitDirectory(Path d, java.io.IOException e) {
                    d.toFile().delete();
                    return java.nio.file.FileVisitResult.CONTINUE;
                }
            });
        } catch (java.io.IOException | RuntimeException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }

    private static int run(Map<String, String> opts) throws Exception {
        long t0 = System.nanoTime();
        // Handled, not the JVM's default (exit at once): a stop, as the file.
        AtomicReference<String> signal = new AtomicReference<>();
        for (String name : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), s -> signal.compareAndSet(null, "SIG" + s.getName()));
        }
        Map<String, String> vars = new LinkedHashMap<>();
        for (Map.Entry<String, String> p : PLACEHOLDERS.entrySet()) {
            vars.put(p.getKey(), required(opts, p.getValue()));
        }
        Path sqlFile = Paths.get(required(opts, "--sql"));
        String sql = substitute(Files.readString(sqlFile, StandardCharsets.UTF_8), vars);
        Path stateDir = Paths.get(opts.getOrDefault("--state-dir", "flink-state")).toAbsolutePath();
        Path stopFile = opts.containsKey("--stop-file") ? Paths.get(opts.get("--stop-file")) : null;
        boolean commitSavepointOffsets = Boolean.parseBoolean(opts.getOrDefault("--commit-savepoint-offsets", "true"));
        String savepointDir = stateDir.resolve("savepoints").toUri().toString();

        // Flink's scratch files (the RPC system's jar it unpacks, blobs)
        // go under the state dir and are deleted when the run ends.
        Path tmp = stateDir.resolve("tmp");
        Files.createDirectories(tmp);
        TMP.set(tmp);

        Configuration conf = new Configuration();
        conf.setString("io.tmp.dirs", tmp.toString());
        conf.setString("web.upload.dir", tmp.toString());
        conf.setString("web.tmpdir", tmp.toString());
        if (opts.containsKey("--from-savepoint")) {
            // With Flink's state (open windows included) and the positions
            // stored with it; the SQL's startup mode is then not used.
            conf.setString("execution.state-recovery.path", opts.get("--from-savepoint"));
        }
        // Kept after a crash, to restart from (--from-savepoint DIR/chk-N).
        conf.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        conf.setString("execution.checkpointing.dir", stateDir.resolve("checkpoints").toUri().toString());
        conf.setString("execution.checkpointing.savepoint-dir", savepointDir);
        conf.setString("parallelism.default", opts.getOrDefault("--parallelism", "1"));
        int attempts = Integer.parseInt(opts.getOrDefault("--restart-attempts", "3"));
        if (attempts > 0) {
            // A failed task restarts the job from its last checkpoint, in
            // this JVM, with its state: exactly-once still holds.
            conf.setString("restart-strategy.type", "fixed-delay");
            conf.setString("restart-strategy.fixed-delay.attempts", Integer.toString(attempts));
            conf.setString("restart-strategy.fixed-delay.delay", "5 s");
        } else {
            conf.setString("restart-strategy.type", "none");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);

        long tables = System.nanoTime();
        TableResult result = null;
        for (String stmt : splitStatements(sql)) {
            Matcher set = SET.matcher(stmt);
            if (set.matches()) {
                tEnv.getConfig().set(set.group(1), set.group(2));
                continue;
            }
            if (opts.containsKey("--checkpoint-interval")) {
                tEnv.getConfig().set("execution.checkpointing.interval", opts.get("--checkpoint-interval"));
            }
            TableResult r = tEnv.executeSql(stmt);
            if (r.getJobClient().isPresent()) {
                if (result != null) {
                    throw new IllegalArgumentException(
                            sqlFile + " starts more than one job: put its INSERTs in one EXECUTE STATEMENT SET");
                }
                result = r;
            }
        }
        if (result == null) {
            throw new IllegalArgumentException(sqlFile + " starts no job (no INSERT)");
        }
        JobClient job = result.getJobClient().get();
        emit("submitted", "job_id", job.getJobID().toString(), "startup_ms", ms(t0),
                "jvm_ms", ManagementFactory.getRuntimeMXBean().getUptime() - ms(t0),
                "sql_ms", ms(tables));

        boolean running = false;
        while (true) {
            JobStatus st;
            try {
                st = job.getJobStatus().get(30, TimeUnit.SECONDS);
            } catch (Exception | Error e) {
                // The per-job mini-cluster shuts down once the job has ended.
                st = JobStatus.FAILED;
            }
            if (st.isGloballyTerminalState()) {
                // Ended by itself (failed, or finished): report why.
                try {
                    job.getJobExecutionResult().get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    emit("failed", "error", rootMessage(e));
                    e.printStackTrace();
                    return 1;
                }
                emit("failed", "status", st.name(), "error", "the job ended without being stopped");
                return 1;
            }
            if (!running && st == JobStatus.RUNNING) {
                running = true;
                emit("running", "job_id", job.getJobID().toString(), "startup_ms", ms(t0));
            }
            String why = signal.get();
            if (why == null && stopFile != null && Files.exists(stopFile)) {
                why = "stop file " + stopFile;
            }
            if (why != null && running) {
                long s0 = System.nanoTime();
                emit("stopping", "reason", why);
                String savepoint;
                try {
                    savepoint = stopWithSavepointAndDrain(job, savepointDir);
                } catch (Exception e) {
                    // Often the job failed meanwhile: its failure says why.
                    String cause = "";
                    try {
                        job.getJobExecutionResult().get(10, TimeUnit.SECONDS);
                    } catch (ExecutionException failed) {
                        cause = "; the job failed: " + rootMessage(failed);
                    } catch (Exception ignored) {
                        // no more to tell
                    }
                    emit("failed", "error", "stop with savepoint: " + rootMessage(e) + cause);
                    e.printStackTrace();
                    return 1;
                }
                // The stop's future completes once the job has finished; the
                // per-job mini-cluster then shuts down and stops answering.
                String end;
                try {
                    end = job.getJobStatus().get(30, TimeUnit.SECONDS).name();
                } catch (Exception | Error e) {
                    end = "FINISHED";
                }
                long stopMs = ms(s0);
                if (!commitSavepointOffsets) {
                    emit("stopped", "savepoint", savepoint, "status", end,
                            "stop_ms", stopMs, "total_ms", ms(t0));
                    return 0;
                }
                // The group's offsets become exactly the savepoint's
                // positions (see SavepointOffsets for why Flink's own last
                // commit cannot be relied on).
                Map<TopicPartition, Long> positions = SavepointOffsets.read(savepoint, vars.get("EVENTS_TOPIC"));
                SavepointOffsets.Result c = SavepointOffsets.commit(
                        vars.get("BOOTSTRAP_SERVERS"), vars.get("GROUP_ID"), positions);
                emit("stopped", "savepoint", savepoint, "status", end,
                        "savepoint_offsets", SavepointOffsets.format(positions),
                        "flink_committed", SavepointOffsets.format(c.before),
                        "group_offsets", SavepointOffsets.format(c.after),
                        "stop_ms", stopMs, "total_ms", ms(t0));
                return 0;
            }
            Thread.sleep(100);
        }
    }

    /**
     * Stops the job with a savepoint and drain: the sources stop reading,
     * MAX_WATERMARK fires every open window, and the savepoint is the job's
     * final checkpoint, whose completion commits the sinks' transactions.
     * Tried again while the job's
     * tasks are still being deployed (the job can be RUNNING before they are).
     */
    private static String stopWithSavepointAndDrain(JobClient job, String savepointDir) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            try {
                return job.stopWithSavepoint(true, savepointDir, SavepointFormatType.CANONICAL)
                        .get(5, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                if (!tasksNotRunning(e) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    private static boolean tasksNotRunning(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof CheckpointException
                    && ((CheckpointException) c).getCheckpointFailureReason()
                            == CheckpointFailureReason.NOT_ALL_REQUIRED_TASKS_RUNNING) {
                return true;
            }
            // Through Flink's RPC the exception may arrive serialized.
            if (String.valueOf(c.getMessage()).contains("Not all required tasks are currently running")) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    private static final Pattern SET =
            Pattern.compile("(?is)\\s*SET\\s+'([^']*)'\\s*=\\s*'([^']*)'\\s*");

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_]+)}");

    /** Replaces every ${NAME}; an unknown name is an error. */
    static String substitute(String sql, Map<String, String> vars) {
        Matcher m = PLACEHOLDER.matcher(sql);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String v = vars.get(m.group(1));
            if (v == null) {
                throw new IllegalArgumentException("the SQL uses ${" + m.group(1) + "}, which the runner does not set; it sets "
                        + String.join(", ", vars.keySet()));
            }
            if (v.contains("'")) {
                throw new IllegalArgumentException(m.group(1) + " must not contain a quote: " + v);
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /**
     * Splits a SQL script into statements at the ';' that ends a line, with
     * -- comments removed (outside quotes); an EXECUTE STATEMENT SET block
     * runs to its END.
     */
    static List<String> splitStatements(String sql) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inSet = false;
        for (String raw : sql.split("\n", -1)) {
            String line = stripComment(raw).stripTrailing();
            if (line.isBlank()) {
                continue;
            }
            if (cur.length() == 0 && line.strip().toUpperCase(Locale.ROOT).startsWith("EXECUTE STATEMENT SET")) {
                inSet = true;
            }
            cur.append(line).append('\n');
            if (!line.endsWith(";")) {
                continue;
            }
            if (inSet && !line.strip().equalsIgnoreCase("END;")) {
                continue;
            }
            String stmt = cur.toString().strip();
            out.add(stmt.substring(0, stmt.length() - 1));
            cur.setLength(0);
            inSet = false;
        }
        if (!cur.toString().isBlank()) {
            throw new IllegalArgumentException("the SQL ends without ';' after: " + cur.toString().strip());
        }
        return out;
    }

    private static String stripComment(String line) {
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\'') {
                quoted = !quoted;
            } else if (!quoted && c == '-' && i + 1 < line.length() && line.charAt(i + 1) == '-') {
                return line.substring(0, i);
            }
        }
        return line;
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.err.println(USAGE);
                System.exit(0);
            }
            String v;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            } else if (a.startsWith("--") && i + 1 < args.length) {
                v = args[++i];
            } else {
                System.err.println("unexpected argument " + a + "\n" + USAGE);
                System.exit(2);
                return opts;
            }
            if (!KNOWN.contains(a)) {
                System.err.println("unknown option " + a + "\n" + USAGE);
                System.exit(2);
            }
            opts.put(a, v);
        }
        return opts;
    }

    private static String required(Map<String, String> opts, String flag) {
        String v = opts.get(flag);
        if (v == null || v.isBlank()) {
            System.err.println("missing " + flag + "\n" + USAGE);
            System.exit(2);
        }
        return v;
    }

    private static long ms(long since) {
        return Duration.ofNanos(System.nanoTime() - since).toMillis();
    }

    private static String rootMessage(Throwable e) {
        Throwable r = e;
        StringBuilder sb = new StringBuilder(String.valueOf(e));
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
            sb.append(" <- ").append(r);
        }
        return sb.toString();
    }

    /** Prints {"event": event, k1: v1, ...} on one line. */
    private static synchronized void emit(String event, Object... kv) {
        StringBuilder sb = new StringBuilder("{\"event\":").append(json(event));
        for (int i = 0; i + 1 < kv.length; i += 2) {
            sb.append(',').append(json(String.valueOf(kv[i]))).append(':');
            Object v = kv[i + 1];
            sb.append(v instanceof Number ? v.toString() : json(String.valueOf(v)));
        }
        OUT.println(sb.append('}'));
        OUT.flush();
    }

    private static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"').toString();
    }
}

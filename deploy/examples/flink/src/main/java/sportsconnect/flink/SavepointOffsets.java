package sportsconnect.flink;

import java.io.DataInputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplitSerializer;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.apache.flink.core.memory.DataInputViewStreamWrapper;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.state.OperatorStateHandle;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The Kafka source's positions in a savepoint, and committing them to the
 * consumer group.
 *
 * <p>Why: the Kafka source commits a checkpoint's offsets to the group
 * asynchronously, on the source's fetcher thread, after the checkpoint
 * completes. For the last one, the savepoint of a stop with drain, the
 * source is closed right after, and that commit is often dropped (the
 * fetcher is shut down before it runs the queued commit; seen here in most
 * stops with connector 3.4.0-1.20): the group is then
 * left at the previous checkpoint, behind what the job has written results
 * for, and a restart from the group's offsets counts those events twice.
 * The savepoint holds the exact position, so the runner commits it.
 */
final class SavepointOffsets {

    /** Name of the source operator's split state (SourceOperator). */
    private static final String SPLITS_STATE = "SourceReaderState";

    private SavepointOffsets() {}

    /**
     * Reads, from the savepoint at pointer, the next offset to read of every
     * Kafka partition of topic that the job's sources hold.
     */
    static Map<TopicPartition, Long> read(String pointer, String topic) throws IOException {
        Path dir = new Path(pointer);
        Path metadataFile = new Path(dir, "_metadata");
        CheckpointMetadata metadata;
        try (FSDataInputStream in = metadataFile.getFileSystem().open(metadataFile)) {
            metadata = Checkpoints.loadCheckpointMetadata(
                    new DataInputStream(in), SavepointOffsets.class.getClassLoader(), dir.toString());
        }
        KafkaPartitionSplitSerializer splits = new KafkaPartitionSplitSerializer();
        Map<TopicPartition, Long> out = new TreeMap<>(SavepointOffsets::compare);
        for (OperatorState op : metadata.getOperatorStates()) {
            for (OperatorSubtaskState subtask : op.getStates()) {
                for (OperatorStateHandle handle : subtask.getManagedOperatorState()) {
                    OperatorStateHandle.StateMetaInfo info = handle.getStateNameToPartitionOffsets().get(SPLITS_STATE);
                    if (info == null) {
                        continue;
                    }
                    try (FSDataInputStream in = handle.openInputStream()) {
                        DataInputViewStreamWrapper view = new DataInputViewStreamWrapper(in);
                        for (long offset : info.getOffsets()) {
                            in.seek(offset);
                            byte[] bytes = BytePrimitiveArraySerializer.INSTANCE.deserialize(view);
                            KafkaPartitionSplit split;
                            try {
                                split = SimpleVersionedSerialization.readVersionAndDeSerialize(splits, bytes);
                            } catch (IOException | RuntimeException e) {
                                continue; // another kind of source's split
                            }
                            // A negative offset is a marker (earliest,
                            // latest, committed) of a split never read.
                            if (split.getTopic().equals(topic) && split.getStartingOffset() >= 0) {
                                out.put(split.getTopicPartition(), split.getStartingOffset());
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** What {@link #commit} found and did. */
    static final class Result {
        final Map<TopicPartition, Long> before = new TreeMap<>(SavepointOffsets::compare);
        final Map<TopicPartition, Long> after = new TreeMap<>(SavepointOffsets::compare);
    }

    /**
     * Commits offsets to group (which must have no active members: the
     * job has stopped) and reads them back.
     */
    static Result commit(String bootstrap, String group, Map<TopicPartition, Long> offsets) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "sportsconnect-flink-savepoint-offsets");
        Result r = new Result();
        try (Admin admin = Admin.create(props)) {
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                    .forEach((tp, om) -> {
                        if (om != null && offsets.containsKey(tp)) {
                            r.before.put(tp, om.offset());
                        }
                    });
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            offsets.forEach((tp, o) -> commit.put(tp, new OffsetAndMetadata(o)));
            admin.alterConsumerGroupOffsets(group, commit).all().get(30, TimeUnit.SECONDS);
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                    .forEach((tp, om) -> {
                        if (om != null && offsets.containsKey(tp)) {
                            r.after.put(tp, om.offset());
                        }
                    });
        }
        if (!new HashMap<>(r.after).equals(new HashMap<>(offsets))) {
            throw new IllegalStateException("committed " + offsets + " to group " + group + " but it reads back " + r.after);
        }
        return r;
    }

    static int compare(TopicPartition a, TopicPartition b) {
        int c = a.topic().compareTo(b.topic());
        return c != 0 ? c : Integer.compare(a.partition(), b.partition());
    }

    /** {0=12, 1=40} for a map of one topic's partitions. */
    static String format(Map<TopicPartition, Long> m) {
        StringBuilder sb = new StringBuilder("{");
        m.forEach((tp, o) -> sb.append(sb.length() > 1 ? ", " : "").append(tp.partition()).append('=').append(o));
        return sb.append('}').toString();
    }
}

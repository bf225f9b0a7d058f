package io.sparkprop.exec;

import java.io.Serializable;

import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.util.Internal;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;

/**
 * The parameters a round sends its tasks. Spark serialises every stage's function once and broadcasts it
 * (the stage's task binary), so parameters held in the function travel the same way as a broadcast of
 * their own, minus that broadcast's creation, fetch and removal — a few milliseconds a round. Small
 * parameters ride in the function; large ones get a broadcast, because Spark warns about task binaries
 * above 1 MiB and a broadcast is fetched in pieces. Either way every task reads the same bits.
 *
 * <p>For a float32 fit the parameters travel as floats (half the bytes): the float32 kernel multiplies with
 * their float copy anyway, so every task reads exactly the values it would have rounded itself. The driver's
 * master parameters stay double.
 */
@Internal
public final class Shipped implements Serializable, AutoCloseable {
    private static final long serialVersionUID = 1L;
    /** Parameters up to this many bytes ride in the task binary. */
    static final long IN_TASK_BYTES = 256 << 10;

    /** The parameters as shipped: a {@link Parameters} (float64) or a {@code float[]} (float32). */
    private final Object inTask;
    private final Broadcast<Object> broadcast;
    /** The network of float32 parameters ({@code null} for float64, whose {@link Parameters} know theirs). */
    private final NetworkSpec spec;

    /** Where tasks count the bytes they read from disk ({@code null}: not counted). */
    private final LongAccumulator diskBytesRead;

    private Shipped(Object inTask, Broadcast<Object> broadcast, NetworkSpec spec, LongAccumulator diskBytesRead) {
        this.diskBytesRead = diskBytesRead;
        this.inTask = inTask;
        this.broadcast = broadcast;
        this.spec = spec;
    }

    /**
     * Ships {@code parameters} in {@code precision}, with the counter of bytes read from disk; they must not
     * change until {@link #close}.
     */
    static Shipped of(JavaSparkContext sc, Parameters parameters, Precision precision, LongAccumulator diskBytesRead) {
        Object payload = parameters;
        NetworkSpec floatSpec = null;
        if (precision == Precision.FLOAT32) {
            float[] f = new float[parameters.size()];
            parameters.copyToFloats(f);
            payload = f;
            floatSpec = parameters.spec();
        }
        return (long) precision.bytes() * parameters.size() <= IN_TASK_BYTES ? new Shipped(payload, null, floatSpec, diskBytesRead)
                : new Shipped(null, sc.broadcast(payload), floatSpec, diskBytesRead);
    }

    /** The parameters, on the executor (or the driver); float32 ones widened to double, which is exact. */
    Parameters value() {
        Object payload = inTask != null ? inTask : broadcast.value();
        if (spec == null) {
            return (Parameters) payload;
        }
        return Parameters.fromFloats(spec, (float[]) payload);
    }

    /** Counts {@code bytes} read from disk by a task. */
    void readFromDisk(long bytes) {
        if (diskBytesRead != null && bytes > 0) {
            diskBytesRead.add(bytes);
        }
    }

    /** Removes the broadcast, if there is one, from the executors (asynchronously). */
    @Override
    public void close() {
        if (broadcast != null) {
            broadcast.destroy();
        }
    }
}

package io.sparkprop.train;

import java.io.Serializable;

import io.sparkprop.nn.Parameters;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The parameters a round sends its tasks. Spark serialises every stage's function once and broadcasts it
 * (the stage's task binary), so parameters held in the function travel the same way as a broadcast of
 * their own, minus that broadcast's creation, fetch and removal — a few milliseconds a round. Small
 * parameters ride in the function; large ones get a broadcast, because Spark warns about task binaries
 * above 1 MiB and a broadcast is fetched in pieces. Either way every task reads the same bits.
 */
final class Shipped implements Serializable, AutoCloseable {
    private static final long serialVersionUID = 1L;
    /** Parameters up to this many bytes ride in the task binary. */
    static final long IN_TASK_BYTES = 256 << 10;

    private final Parameters inTask;
    private final Broadcast<Parameters> broadcast;

    private Shipped(Parameters inTask, Broadcast<Parameters> broadcast) {
        this.inTask = inTask;
        this.broadcast = broadcast;
    }

    /** Ships {@code parameters}, which must not change until {@link #close}. */
    static Shipped of(JavaSparkContext sc, Parameters parameters) {
        return 8L * parameters.size() <= IN_TASK_BYTES ? new Shipped(parameters, null)
                : new Shipped(null, sc.broadcast(parameters));
    }

    /** The parameters, on the executor (or the driver). */
    Parameters value() {
        return inTask != null ? inTask : broadcast.value();
    }

    /** Removes the broadcast, if there is one, from the executors (asynchronously). */
    @Override
    public void close() {
        if (broadcast != null) {
            broadcast.destroy();
        }
    }
}

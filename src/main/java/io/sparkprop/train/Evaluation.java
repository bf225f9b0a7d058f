package io.sparkprop.train;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;

import io.sparkprop.data.Shard;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Loss and accuracy sums of one shard under broadcast parameters (forward passes only), and their
 * merge: what a validation pass returns.
 */
final class Evaluation implements Serializable {
    private static final long serialVersionUID = 1L;

    double lossSum;
    double correctWeight;
    double weightSum;

    Evaluation mergeInPlace(Evaluation other) {
        lossSum += other.lossSum;
        correctWeight += other.correctWeight;
        weightSum += other.weightSum;
        return this;
    }

    /** The executor side: every block of the shard. */
    static final class OfShard implements Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, Evaluation>>> {
        private static final long serialVersionUID = 1L;

        private final Broadcast<Parameters> parameters;
        private final GemmBackend backend;

        OfShard(Broadcast<Parameters> parameters, GemmBackend backend) {
            this.parameters = parameters;
            this.backend = backend;
        }

        @Override
        public Iterator<Tuple2<Integer, Evaluation>> call(Integer partition, Iterator<Shard> shards) {
            if (!shards.hasNext()) {
                return Collections.emptyIterator();
            }
            Shard shard = shards.next();
            if (shard.numBlocks() == 0) {
                return Collections.emptyIterator();
            }
            Parameters params = parameters.value();
            BackpropKernel kernel = KernelCache.get(params.spec(), backend);
            Evaluation e = new Evaluation();
            double[] correct = new double[1];
            for (int k = 0; k < shard.numBlocks(); k++) {
                e.lossSum += kernel.evaluate(params, shard.features(k), shard.targets(k), shard.weights(k), correct);
            }
            e.correctWeight = correct[0];
            e.weightSum = shard.weightSum();
            return Collections.singletonList(new Tuple2<>(partition, e)).iterator();
        }
    }
}

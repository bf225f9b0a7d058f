package io.sparkprop.exec;

import java.io.Serializable;

import org.apache.spark.Partition;
import org.apache.spark.rdd.PartitionCoalescer;
import org.apache.spark.rdd.PartitionGroup;
import org.apache.spark.rdd.RDD;
import scala.Option;
import scala.collection.Seq;

/**
 * Groups {@code P} parent partitions into {@code k} contiguous index ranges,
 * {@code [⌊gP/k⌋, ⌊(g+1)P/k⌋)}. Unlike Spark's default coalescer, which groups by where partitions are
 * cached or stored, the grouping depends on {@code P} and {@code k} alone, so the shards — and so the
 * trained weights — are the same from run to run. Each group prefers the host of its first partition.
 */
final class RangeCoalescer implements PartitionCoalescer, Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public PartitionGroup[] coalesce(int maxPartitions, RDD<?> parent) {
        Partition[] partitions = parent.partitions();
        int p = partitions.length;
        int k = Math.max(1, Math.min(maxPartitions, p));
        PartitionGroup[] groups = new PartitionGroup[k];
        for (int g = 0; g < k; g++) {
            int start = (int) ((long) g * p / k);
            int end = (int) ((long) (g + 1) * p / k);
            Seq<String> hosts = parent.preferredLocations(partitions[start]);
            Option<String> host = hosts.isEmpty() ? Option.empty() : Option.apply(hosts.head());
            PartitionGroup group = new PartitionGroup(host);
            for (int i = start; i < end; i++) {
                group.partitions().$plus$eq(partitions[i]);
            }
            groups[g] = group;
        }
        return groups;
    }
}

package io.sparkprop.util;

/** Bit mixing shared by the canonical row order and the generated data sets. */
@Internal
public final class Hashing {
    private Hashing() {
    }

    /** The finaliser of MurmurHash3's 64-bit variant: every input bit affects every output bit. */
    public static long murmurMix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}

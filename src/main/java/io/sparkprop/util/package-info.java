/**
 * Small helpers every other package may use and that use none of them: the one parser of the
 * settings' names ({@link io.sparkprop.util.Names}), the one wording of settings' checks
 * ({@link io.sparkprop.util.Checks}), bit mixing ({@link io.sparkprop.util.Hashing}), arrays of doubles in Java
 * serialisation as raw bytes ({@link io.sparkprop.util.DoubleArrays}) and the mark of types that
 * are public for sparkprop's own packages only ({@link io.sparkprop.util.Internal}).
 */
package io.sparkprop.util;

/**
 * Small helpers every other package may use and that use none of them: the one parser of the
 * settings' names ({@link io.sparkprop.util.Names}).
 */
package io.sparkprop.util;

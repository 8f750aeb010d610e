/**
 * The key under which a timed machine keeps its state of a lock on the lock object itself
 * ({@link newLock} makes every lock with this property), so finding a lock's state costs one
 * property load instead of a weak-map lookup.
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** Property key of the machine state slot of a lock object. */
export const LOCK_SLOT: unique symbol = Symbol("rmapbench.lockState");

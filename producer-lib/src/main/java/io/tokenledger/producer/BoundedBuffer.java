package io.tokenledger.producer;

import java.util.Collection;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed-size FIFO ring for many callers and one drainer. Offers never allocate and take one uncontended
 * lock; a full buffer refuses at once ({@link #offer(Object)}) or after a bounded wait. It counts every
 * element ever accepted, which is how {@code flush} knows what "everything tracked so far" is.
 */
final class BoundedBuffer<E> {

  private final Object[] items;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notFull = lock.newCondition();
  private int head;
  private int count;
  private long accepted;
  private boolean closed;

  BoundedBuffer(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("buffer capacity must be at least 1, got " + capacity);
    }
    items = new Object[capacity];
  }

  /** Adds {@code e} unless the buffer is full or closed. */
  boolean offer(E e) {
    lock.lock();
    try {
      if (closed || count == items.length) {
        return false;
      }
      enqueue(e);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Adds {@code e}, waiting up to {@code timeoutNanos} for room; false when still full, or closed. */
  boolean offer(E e, long timeoutNanos) throws InterruptedException {
    long nanos = timeoutNanos;
    lock.lockInterruptibly();
    try {
      while (!closed && count == items.length) {
        if (nanos <= 0) {
          return false;
        }
        nanos = notFull.awaitNanos(nanos);
      }
      if (closed) {
        return false;
      }
      enqueue(e);
      return true;
    } finally {
      lock.unlock();
    }
  }

  private void enqueue(E e) {
    int tail = head + count;
    if (tail >= items.length) {
      tail -= items.length;
    }
    items[tail] = e;
    count++;
    accepted++;
  }

  /** Moves up to {@code max} elements, oldest first, into {@code out}. */
  @SuppressWarnings("unchecked")
  int drainTo(Collection<? super E> out, int max) {
    lock.lock();
    try {
      int n = Math.min(max, count);
      for (int i = 0; i < n; i++) {
        out.add((E) items[head]);
        items[head] = null;
        if (++head == items.length) {
          head = 0;
        }
      }
      count -= n;
      if (n > 0) {
        notFull.signalAll();
      }
      return n;
    } finally {
      lock.unlock();
    }
  }

  /** Refuses every later offer and wakes callers waiting for room (they give up). */
  void close() {
    lock.lock();
    try {
      closed = true;
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  boolean isEmpty() {
    lock.lock();
    try {
      return count == 0;
    } finally {
      lock.unlock();
    }
  }

  /** How many elements were ever accepted. */
  long accepted() {
    lock.lock();
    try {
      return accepted;
    } finally {
      lock.unlock();
    }
  }

  int capacity() {
    return items.length;
  }

  static long nanos(java.time.Duration d) {
    return TimeUnit.NANOSECONDS.convert(d);
  }
}

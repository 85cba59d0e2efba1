// Group commit for fire-and-wait work: everything added while a run is in flight (or within the same turn of the
// event loop) goes out together in the next run, and each caller's promise settles when the run that carried its
// items has. Under load the batches grow by themselves; a lone caller waits only for the end of its turn.
interface Batch<T> {
  items: Set<T>;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class Coalescer<T> {
  private next: Batch<T> | undefined;
  private busy = false;

  constructor(private readonly run: (items: T[]) => Promise<void>) {}

  add(items: Iterable<T>): Promise<void> {
    if (!this.next) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.next = { items: new Set(), promise, resolve, reject };
      if (!this.busy) this.startSoon();
    }
    for (const item of items) this.next.items.add(item);
    return this.next.promise;
  }

  private startSoon(): void {
    this.busy = true;
    setImmediate(() => {
      const batch = this.next!;
      this.next = undefined;
      this.run([...batch.items])
        .then(batch.resolve, batch.reject)
        .finally(() => {
          this.busy = false;
          if (this.next) this.startSoon();
        });
    });
  }
}

/** A typed, synchronous event channel: library code emits progress, front ends render it. */
export type Listener<E> = (event: E) => void;

export class EventChannel<E> {
  private readonly listeners = new Set<Listener<E>>();
  on(listener: Listener<E>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: E): void {
    for (const l of this.listeners) l(event);
  }
}

/** Progress events shared by pull, push, load and save. */
export type ProgressEvent =
  | { type: 'resolve'; ref: string }
  | { type: 'resolved'; ref: string; digest: string }
  | {
      type: 'layer';
      id: string;
      status: 'waiting' | 'exists' | 'downloading' | 'extracting' | 'done' | 'verifying';
      current?: number;
      total?: number;
    }
  | { type: 'message'; text: string };

export type ProgressSink = (event: ProgressEvent) => void;

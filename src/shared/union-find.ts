/** Groups of items (indices) joined pair by pair; each group's root is its smallest member. An item never joined is its own root. */
export class UnionFind {
  private readonly parent = new Map<number, number>();
  find(i: number): number {
    let r = i;
    for (let p = this.parent.get(r); p !== undefined; p = this.parent.get(r)) r = p;
    while (i !== r) {
      const next = this.parent.get(i) as number;
      this.parent.set(i, r);
      i = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(Math.max(ra, rb), Math.min(ra, rb));
  }
}

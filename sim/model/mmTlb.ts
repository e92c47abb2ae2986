/**
 * The mm's TLB-flush bookkeeping that other paths read (include/linux/mm_types.h):
 * `tlb_flush_batched` — reclaim cleared a PTE of this mm and deferred the CPU TLB flush
 * (set_tlb_ubc_flush_pending(); read and cleared by flush_tlb_batched_pending(), 3ea277194daa);
 * `tlb_flush_pending` — mmu_gathers of this mm in flight (inc in tlb_gather_mmu(), dec in
 * tlb_finish_mmu(); an atomic_t since 56236a59556c, read by mm_tlb_flush_nested(), 99baac21e458).
 */
export class MmTlbState {
  batched = 0;
  pending = 0;
}

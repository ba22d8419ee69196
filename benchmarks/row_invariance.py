"""Why the engine computes the policy on every row of a batch, even the one it drops.

A V critic's batch needs the policy at s_0..s_{T-1} only, but the loss's forward pass runs
the actor on s_0..s_T too (T+1 rows); dropping the last row would save a fraction of the
actor's work (a third for tdac's 2-step rollouts). The forward numbers of each row are the
same either way, but the gradients are not always: a matrix product's backward over M rows
(with zero gradient on the extra rows) rounds differently from one over fewer rows for some
shapes, so runs would part from the stored ones. This prints how many (K, N, T, layer)
shapes of the grid below give different gradients (178 of 1925 on the 2-core machine of
2026-12-03, among them K=1 N=32 T=8 and REINFORCE's long batches).

    python benchmarks/row_invariance.py
"""
import torch, itertools
torch.set_num_threads(1)
torch.manual_seed(0)
bad = []
for K in (1, 2, 5, 10, 75):
  for N in (1, 2, 4, 8, 16, 32, 64):
    for T in (1, 2, 3, 4, 5, 8, 16, 32, 64, 128, 256):
      for din, dout in ((4,64),(64,64),(64,2),(4,128),(128,2)):
        w = torch.randn(K, din, dout, requires_grad=True); b = torch.randn(K, 1, dout, requires_grad=True)
        x = torch.randn(K, (T+1)*N, din, requires_grad=True); g = torch.randn(K, T*N, dout)
        y = torch.baddbmm(b, x, w)[:, :T*N]; y.backward(g)
        gw, gb, gx = w.grad.clone(), b.grad.clone(), x.grad[:, :T*N].clone()
        w.grad = b.grad = x.grad = None
        y2 = torch.baddbmm(b, x[:, :T*N], w); y2.backward(g)
        if not (torch.equal(gw, w.grad) and torch.equal(gb, b.grad) and torch.equal(gx, x.grad[:, :T*N])):
            bad.append((K, N, T, din, dout, torch.equal(gw, w.grad), torch.equal(gb, b.grad)))
print(len(bad)); print(bad[:40])
import collections; print(collections.Counter((b[1]*b[2]) for b in bad).most_common(10))

"""Small policies and critics.

``ActorCritic`` is an MLP with a policy head (logits over discrete actions, or for continuous
actions a Gaussian's mean mu(s) and a free log-std, ``acnotes.gaussian``) and, if asked, a
critic head: ``V(s)`` (one number) or ``Q(s, .)`` (one number per action). The trunk is
either shared by both heads (the classic 128-unit CartPole net) or separate.
``TabularSoftmax`` is the linear softmax policy over state-action features that the exact
tabular MDPs use.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ActorCritic", "Population", "TabularSoftmax", "ACTIVATIONS", "HandBackward", "backprop"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_MINUS_ONE = torch.tensor(-1.0)


def _mlp(sizes: list[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """Policy logits and an optional critic from one module.

    Args:
        obs_dim: size of an observation vector.
        n_actions: number of discrete actions.
        hidden: width of each hidden layer.
        layers: number of hidden layers.
        critic: ``None`` (policy only), ``"v"`` (state values) or ``"q"`` (action values).
        shared: one trunk for both heads (True) or a separate trunk for each (False).
        activation: ``"tanh"`` or ``"relu"``.
        gaussian: a Gaussian policy over ``n_actions`` action coordinates instead of a softmax
            over ``n_actions`` actions: the head gives the mean mu(s), and ``log_std`` is one
            free parameter per coordinate (state-independent, as in
            ``acnotes/reference/gaussian_a2c.py``), started at ``log_std_init``. The policy's
            output is then ``(mu, log sigma)`` concatenated on the last axis, [..., 2 n_actions].
            The layers are created in the reference's order (actor trunk, mean head, critic), so
            the same seed gives the same initial weights.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64, layers: int = 2,
                 critic: str | None = "v", shared: bool = False, activation: str = "tanh",
                 gaussian: bool = False, log_std_init: float = 0.0):
        super().__init__()
        if critic not in (None, "v", "q"):
            raise ValueError(f"critic must be None, 'v' or 'q', got {critic!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [obs_dim] + [hidden] * layers
        self.critic_kind = critic
        self.shared = shared and critic is not None
        self.n_actions = n_actions
        self.gaussian = bool(gaussian)
        self.log_std_init = float(log_std_init)
        self.actor_trunk = _mlp(sizes, activation)
        if self.gaussian:   # the mean head before the critic: the reference's order of random draws
            self.pi_head = nn.Linear(sizes[-1], n_actions)
            self.log_std = nn.Parameter(torch.full((n_actions,), self.log_std_init))
        self.critic_trunk = None if (critic is None or self.shared) else _mlp(sizes, activation)
        if not self.gaussian:
            self.pi_head = nn.Linear(sizes[-1], n_actions)
        out = {None: 0, "v": 1, "q": n_actions}[critic]
        self.critic_head = nn.Linear(sizes[-1], out) if out else None
        # small initial logits: the first policy is close to uniform
        with torch.no_grad():
            self.pi_head.weight.mul_(0.01)
            self.pi_head.bias.zero_()

    def _policy_out(self, h: Tensor) -> Tensor:
        out = self.pi_head(h)
        return torch.cat([out, self.log_std.expand_as(out)], -1) if self.gaussian else out

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor | None]:
        """Return ``(logits, critic)``; critic is ``[..]`` for V, ``[.., A]`` for Q, or None.
        For a Gaussian policy ``logits`` is ``(mu, log sigma)`` concatenated."""
        h = self.actor_trunk(obs)
        logits = self._policy_out(h)
        if self.critic_head is None:
            return logits, None
        hc = h if self.shared else self.critic_trunk(obs)
        c = self.critic_head(hc)
        return logits, (c.squeeze(-1) if self.critic_kind == "v" else c)

    def logits(self, obs: Tensor) -> Tensor:
        return self._policy_out(self.actor_trunk(obs))

    def actor_parameters(self):
        return list(self.actor_trunk.parameters()) + list(self.pi_head.parameters()) + \
            ([self.log_std] if self.gaussian else [])

    def critic_parameters(self):
        if self.critic_head is None:
            return []
        trunk = [] if self.shared else list(self.critic_trunk.parameters())
        return trunk + list(self.critic_head.parameters())


class TabularSoftmax(nn.Module):
    """pi(a|s) = softmax_a(theta . phi(s, a)) for fixed features ``phi`` of shape [S, A, d]."""

    def __init__(self, features: Tensor, theta: Tensor | None = None):
        super().__init__()
        self.register_buffer("features", torch.as_tensor(features, dtype=torch.float64))
        d = self.features.shape[-1]
        init = torch.zeros(d, dtype=torch.float64) if theta is None else torch.as_tensor(theta, dtype=torch.float64)
        self.theta = nn.Parameter(init.clone())

    def forward(self, s: Tensor) -> Tensor:
        """Logits of the states ``s`` (integer tensor of any shape): shape [..., A]."""
        return self.features[s] @ self.theta


class Population(nn.Module):
    """K ``ActorCritic`` networks of one shape, stacked: every parameter has a leading
    member axis, and one batched matrix product (``torch.baddbmm``) runs all K at once.

    ``Population.stack(nets)`` copies K networks in; ``member(k)`` copies one back out as an
    ``ActorCritic``. Inputs and outputs are member-major: ``obs`` is [K, B, d], the logits
    [K, B, A], the critic [K, B] (V) or [K, B, A] (Q). A Linear layer ``y = x W^T + b`` of
    member k becomes ``y[k] = b[k] + x[k] @ W[k]^T`` for all k in one call.

    The parameters live in two tensors, one row per member: ``actor`` [K, P_actor] (the
    actor's trunk and head) and ``critic`` [K, P_critic] (the critic's trunk, unless shared,
    and head); each layer's weight [K, in, out] and bias [K, 1, out] is a view of its row
    (``param(name)``). So the optimizer, the gradient norms and the clipping each handle two
    tensors, not one per layer, and a member's norm is the sum over its own rows.
    """

    def __init__(self, template: ActorCritic, members: int):
        super().__init__()
        self.template = {"obs_dim": template.actor_trunk[0].in_features, "n_actions": template.n_actions,
                         "hidden": template.pi_head.in_features,
                         "layers": sum(isinstance(m, nn.Linear) for m in template.actor_trunk),
                         "critic": template.critic_kind, "shared": template.shared,
                         "activation": "tanh" if isinstance(template.actor_trunk[1], nn.Tanh) else "relu",
                         "gaussian": template.gaussian, "log_std_init": template.log_std_init}
        self.members = members
        self.critic_kind = template.critic_kind
        self.shared = template.shared
        self.gaussian = template.gaussian
        self.tanh = self.template["activation"] == "tanh"
        self.names = [n.replace(".", "_") for n, _ in template.named_parameters()]
        self._dotted = {n.replace(".", "_"): n for n, _ in template.named_parameters()}
        # name -> (side, offset in the side's row, shape of the view without the member axis)
        self._where: dict[str, tuple[str, int, tuple]] = {}
        size = {"actor": 0, "critic": 0}
        for side, ps in (("actor", template.actor_parameters()), ("critic", template.critic_parameters())):
            for q in ps:
                name = next(n.replace(".", "_") for n, r in template.named_parameters() if r is q)
                shape = tuple(q.shape[::-1]) if q.dim() == 2 else (1,) + tuple(q.shape)
                self._where[name] = (side, size[side], shape)
                size[side] += q.numel()
        dtype = next(template.parameters()).dtype
        self.actor = nn.Parameter(torch.empty(members, size["actor"], dtype=dtype))
        self.critic = nn.Parameter(torch.empty(members, size["critic"], dtype=dtype)) if size["critic"] else None
        self.is_actor = [True] + ([False] if size["critic"] else [])
        with torch.no_grad():   # views without autograd, for the engine's own forward and backward
            self._views = {n: self._view(n) for n in self.names}
        self._hidden = {t: [(self._views[f"{t}_{i}_bias"], self._views[f"{t}_{i}_weight"])
                            for i in range(0, 2 * self.template["layers"], 2)]
                        for t in ("actor_trunk", "critic_trunk") if f"{t}_0_bias" in self._views}
        self._heads = {h: (self._views[f"{h}_bias"], self._views[f"{h}_weight"])
                       for h in ("pi_head", "critic_head") if f"{h}_bias" in self._views}
        with torch.no_grad():   # each side's weights as the backward multiplies by them (``side_weights``)
            self._side = {side: [w.transpose(1, 2) for _, w in self._hidden[trunk] + [self._heads[head]]]
                          for side, trunk, head in (("actor", "actor_trunk", "pi_head"),
                                                    ("critic", "critic_trunk", "critic_head"))
                          if trunk in self._hidden and head in self._heads}

    def _view(self, name: str) -> Tensor:
        side, at, shape = self._where[name]
        n = 1
        for d in shape:
            n *= d
        return getattr(self, side)[:, at:at + n].view(self.members, *shape)

    def param(self, name: str) -> Tensor:
        """Parameter ``name`` (as ``ActorCritic`` names it, dots as underscores) of every
        member: [K, in, out] for a weight (transposed), [K, 1, out] for a bias; a view."""
        return self._view(name) if torch.is_grad_enabled() else self._views[name]

    @classmethod
    def stack(cls, nets: list[ActorCritic]) -> "Population":
        pop = cls(nets[0], len(nets))
        with torch.no_grad():
            for name in pop.names:
                p = pop.param(name)
                for k, net in enumerate(nets):
                    q = net.get_parameter(pop._dotted[name])
                    p[k].copy_(q.T if q.dim() == 2 else q[None])
        return pop

    def member(self, k: int) -> ActorCritic:
        """Member k as a plain ``ActorCritic`` (a copy)."""
        with torch.random.fork_rng(devices=[]):  # its random init is overwritten: leave the global RNG alone
            net = ActorCritic(**self.template)
        with torch.no_grad():
            for q, name in zip(net.parameters(), self.names):
                p = self.param(name)
                q.copy_(p[k].T if q.dim() == 2 else p[k, 0])
        return net

    def _layer(self, b: Tensor, w: Tensor, x: Tensor) -> Tensor:
        """A hidden layer: ``act(x W + b)``. tanh is computed as ``2 sigmoid(2z) - 1`` (the same
        function: within 2e-7 of ``torch.tanh`` in float32), because torch's tanh is not
        vectorized on CPU and costs three times as much here (benchmarks/README.md); the
        factor 2 is the product's ``alpha`` and ``beta`` (exact). Without autograd:
        ``_layer_in_place``."""
        if not torch.is_grad_enabled():
            return self._layer_in_place(b, w, x)
        if not self.tanh:
            return torch.relu(torch.baddbmm(b, x, w))
        return torch.sigmoid(torch.baddbmm(b, x, w, beta=2, alpha=2)) * 2 - 1

    def _layer_in_place(self, b: Tensor, w: Tensor, x: Tensor) -> Tensor:
        """``_layer`` without autograd: the activation runs in place on the product (the same
        kernel on the same numbers, no new tensor), and tanh's last step -1 + 2 s is one op
        (2 s is exact, so the same numbers as s * 2 - 1)."""
        if not self.tanh:
            return torch.baddbmm(b, x, w).relu_()
        z = torch.baddbmm(b, x, w, beta=2, alpha=2).sigmoid_()
        return torch.add(_MINUS_ONE, z, alpha=2, out=z)

    def _mlp(self, prefix: str, x: Tensor) -> Tensor:
        for i in range(0, 2 * self.template["layers"], 2):
            x = self._layer(self.param(f"{prefix}_{i}_bias"), self.param(f"{prefix}_{i}_weight"), x)
        return x

    def _linear(self, prefix: str, x: Tensor, views: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """The layer ``prefix`` on x; ``views``: its (bias, weight) without autograd, if at hand."""
        b, w = views or (self.param(f"{prefix}_bias"), self.param(f"{prefix}_weight"))
        if self.members == 1 and w.shape[-1] == 1:
            # A product with one output column (the V head) rounds differently for one member
            # than for several (torch takes another kernel), and a member would drift away from
            # its single run. Computing one member as two copies takes the kernel of K > 1; the
            # copy's output is dropped, so its gradient is zero and adds exactly nothing.
            return torch.baddbmm(b.expand(2, -1, -1), x.expand(2, -1, -1), w.expand(2, -1, -1))[:1]
        return torch.baddbmm(b, x, w)

    def _policy_out(self, h: Tensor) -> Tensor:
        """The policy head on ``h``: logits, or a Gaussian's (mu, log sigma) concatenated."""
        out = self._linear("pi_head", h)
        if not self.gaussian:
            return out
        # The gradients coming back through the concatenation are strided slices; summed over rows
        # (for the mean head's bias and for log sigma) they would round differently for K = 1 (see
        # ``_linear``) than for K > 1, and a member would drift away from its single run.
        # ``_ContiguousGrad`` makes them contiguous in both cases.
        log_std = self.param("log_std").expand_as(out)
        return torch.cat([_ContiguousGrad.apply(out), _ContiguousGrad.apply(log_std)], -1)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor | None]:
        h = self._mlp("actor_trunk", obs)
        logits = self._policy_out(h)
        if self.critic_kind is None:
            return logits, None
        hc = h if self.shared else self._mlp("critic_trunk", obs)
        c = self._linear("critic_head", hc)
        return logits, (c.squeeze(-1) if self.critic_kind == "v" else c)

    def logits(self, obs: Tensor) -> Tensor:
        return self._policy_out(self._mlp("actor_trunk", obs))

    # --- the engine's path: each side's layers as one autograd node (``HandBackward``)
    def side_weights(self, name: str) -> list[Tensor]:
        """The weights of the ``"actor"`` or ``"critic"`` side (separate trunks), layer by layer,
        each transposed ([K, out, in], views made once): ``backprop`` multiplies by W^T."""
        return self._side[name]

    def layers(self, name: str, obs: Tensor) -> tuple[list[Tensor], Tensor]:
        """One side (separate trunks only) on ``obs`` [K, B, d], without autograd: the
        input of every layer ``[obs, h_1, ..., h_L]`` and the head's output."""
        trunk, head = ("actor_trunk", "pi_head") if name == "actor" else ("critic_trunk", "critic_head")
        if torch.is_grad_enabled():   # acting runs under inference mode already: no context to enter
            with torch.no_grad():
                return self.layers(name, obs)
        xs = [obs]   # (acting calls this every env step: the views at hand, no autograd tests)
        for b, w in self._hidden[trunk]:
            xs.append(self._layer_in_place(b, w, xs[-1]))
        return xs, self._linear(head, xs[-1], self._heads[head])

    def critic_values(self, obs: Tensor) -> Tensor:
        """The critic (separate trunk) on ``obs`` [K, B, d], as one autograd node whose
        backward is written out (``HandBackward``): [K, B] for V, [K, B, A] for Q."""
        def compute():
            return self.layers("critic", obs)
        c = HandBackward.apply(compute, self.template["activation"], self.side_weights("critic"), self.critic)
        return c.squeeze(-1) if self.critic_kind == "v" else c


class _ContiguousGrad(torch.autograd.Function):
    """The identity, whose backward passes on a contiguous copy of the gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g.contiguous()


def _bmm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for each member; one member with a matrix of one row or column is computed
    as two copies, for the reason given in ``Population._linear``."""
    if a.shape[0] == 1 and 1 in (a.shape[1], a.shape[2], b.shape[2]):
        return torch.bmm(a.expand(2, -1, -1), b.expand(2, -1, -1))[:1]
    return torch.bmm(a, b)


class HandBackward(torch.autograd.Function):
    """The layers of one side of a population (``x_{i+1} = act(x_i W_i + b_i)``, then the
    head ``y = x_L W + b``) as one autograd node with the backward written out.

    ``HandBackward.apply(compute, activation, weights, flat)``: ``compute()`` returns the
    inputs of every layer ``[x_0, ..., x_L]`` and the output ``y``, computed without autograd
    (the critic computes them there; the actor replays those of acting, see ``train.py``);
    ``weights`` are the layers' weights in order, transposed (``Population.side_weights``), and
    ``flat`` the side's parameter tensor [K, P] whose views they are: its gradient is what the
    backward returns. The backward is the chain rule layer by layer: for ``y = x W + b``,
    dW = x^T dy, db = the sum of dy over rows, dx = dy W^T; through ``x = tanh(z)``,
    dz = dx (1 - x^2) (relu: dz = dx where x > 0). It computes what autograd would through the
    same layers, with fewer ops and no graph of small nodes (tests/test_models.py compares the two).
    """

    @staticmethod
    def forward(ctx, compute, activation: str, weights: list, flat):
        xs, y = compute()
        ctx.xs, ctx.ws, ctx.activation = xs, weights, activation
        return y

    @staticmethod
    def backward(ctx, dy):
        grad = backprop(ctx.xs, ctx.ws, dy, ctx.activation)
        ctx.xs = ctx.ws = None
        return None, None, None, grad


def backprop(xs: list[Tensor], ws: list[Tensor], dy: Tensor, activation: str) -> Tensor:
    """The gradient [K, P] of one side's flat parameters (``Population.actor`` or ``.critic``)
    given ``dy`` [K, B, out], the gradient of its output: the chain rule layer by layer (see
    ``HandBackward``). ``xs`` are the layers' inputs ``[x_0, ..., x_L]``, ``ws`` their weights
    transposed, [K, out, in] (``Population.side_weights``)."""
    grads: list[Tensor] = []
    for i in reversed(range(len(xs))):
        # bias [K, out] and weight [K, in*out]: the sum without keepdim is the same sum, one reshape fewer
        grads += [dy.sum(1), _bmm(xs[i].transpose(1, 2), dy).flatten(1)]
        if i == 0:                           # the observations need no gradient
            break
        dx = _bmm(dy, ws[i])                 # ws[i] is W^T (``Population.side_weights``)
        if activation == "tanh":   # dx (1 - x^2), the product in place on the new tensor dx
            dy = dx.mul_(1 - xs[i] * xs[i])
        else:
            dy = dx * (xs[i] > 0)
    return torch.cat(grads[::-1], 1)

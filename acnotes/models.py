"""Small policies and critics.

``ActorCritic`` is an MLP with a policy head (logits over discrete actions) and, if asked,
a critic head: ``V(s)`` (one number) or ``Q(s, .)`` (one number per action). The trunk is
either shared by both heads (the classic 128-unit CartPole net) or separate.
``TabularSoftmax`` is the linear softmax policy over state-action features that the exact
tabular MDPs use.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ActorCritic", "Population", "TabularSoftmax", "ACTIVATIONS"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


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
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64, layers: int = 2,
                 critic: str | None = "v", shared: bool = False, activation: str = "tanh"):
        super().__init__()
        if critic not in (None, "v", "q"):
            raise ValueError(f"critic must be None, 'v' or 'q', got {critic!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [obs_dim] + [hidden] * layers
        self.critic_kind = critic
        self.shared = shared and critic is not None
        self.n_actions = n_actions
        self.actor_trunk = _mlp(sizes, activation)
        self.critic_trunk = None if (critic is None or self.shared) else _mlp(sizes, activation)
        self.pi_head = nn.Linear(sizes[-1], n_actions)
        out = {None: 0, "v": 1, "q": n_actions}[critic]
        self.critic_head = nn.Linear(sizes[-1], out) if out else None
        # small initial logits: the first policy is close to uniform
        with torch.no_grad():
            self.pi_head.weight.mul_(0.01)
            self.pi_head.bias.zero_()

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor | None]:
        """Return ``(logits, critic)``; critic is ``[..]`` for V, ``[.., A]`` for Q, or None."""
        h = self.actor_trunk(obs)
        logits = self.pi_head(h)
        if self.critic_head is None:
            return logits, None
        hc = h if self.shared else self.critic_trunk(obs)
        c = self.critic_head(hc)
        return logits, (c.squeeze(-1) if self.critic_kind == "v" else c)

    def logits(self, obs: Tensor) -> Tensor:
        return self.pi_head(self.actor_trunk(obs))

    def actor_parameters(self):
        return list(self.actor_trunk.parameters()) + list(self.pi_head.parameters())

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
    """

    def __init__(self, template: ActorCritic, members: int):
        super().__init__()
        self.template = {"obs_dim": template.actor_trunk[0].in_features, "n_actions": template.n_actions,
                         "hidden": template.pi_head.in_features,
                         "layers": sum(isinstance(m, nn.Linear) for m in template.actor_trunk),
                         "critic": template.critic_kind, "shared": template.shared,
                         "activation": "tanh" if isinstance(template.actor_trunk[1], nn.Tanh) else "relu"}
        self.members = members
        self.critic_kind = template.critic_kind
        self.shared = template.shared
        self.act = torch.tanh if self.template["activation"] == "tanh" else torch.relu
        self.names = [n for n, _ in template.named_parameters()]
        for n, p in template.named_parameters():
            shape = (members,) + tuple(p.shape[::-1] if p.dim() == 2 else (1,) + tuple(p.shape))
            self.register_parameter(n.replace(".", "_"), nn.Parameter(torch.empty(shape, dtype=p.dtype)))
        self._actor = {id(p) for p in template.actor_parameters()}
        self.is_actor = [id(p) in self._actor for p in template.parameters()]
        del self._actor

    @classmethod
    def stack(cls, nets: list[ActorCritic]) -> "Population":
        pop = cls(nets[0], len(nets))
        with torch.no_grad():
            for name, p in zip(pop.names, pop.parameters()):
                for k, net in enumerate(nets):
                    q = net.get_parameter(name)
                    p[k].copy_(q.T if q.dim() == 2 else q[None])
        return pop

    def member(self, k: int) -> ActorCritic:
        """Member k as a plain ``ActorCritic`` (a copy)."""
        with torch.random.fork_rng(devices=[]):  # its random init is overwritten: leave the global RNG alone
            net = ActorCritic(**self.template)
        with torch.no_grad():
            for name, p in zip(self.names, self.parameters()):
                q = net.get_parameter(name)
                q.copy_(p[k].T if q.dim() == 2 else p[k, 0])
        return net

    def _mlp(self, prefix: str, x: Tensor) -> Tensor:
        for i in range(0, 2 * self.template["layers"], 2):
            x = self.act(torch.baddbmm(getattr(self, f"{prefix}_{i}_bias"), x, getattr(self, f"{prefix}_{i}_weight")))
        return x

    def _linear(self, prefix: str, x: Tensor) -> Tensor:
        b, w = getattr(self, f"{prefix}_bias"), getattr(self, f"{prefix}_weight")
        if self.members == 1 and w.shape[-1] == 1:
            # A product with one output column (the V head) rounds differently for one member
            # than for several (torch takes another kernel), and a member would drift away from
            # its single run. Computing one member as two copies takes the kernel of K > 1; the
            # copy's output is dropped, so its gradient is zero and adds exactly nothing.
            return torch.baddbmm(b.expand(2, -1, -1), x.expand(2, -1, -1), w.expand(2, -1, -1))[:1]
        return torch.baddbmm(b, x, w)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor | None]:
        h = self._mlp("actor_trunk", obs)
        logits = self._linear("pi_head", h)
        if self.critic_kind is None:
            return logits, None
        hc = h if self.shared else self._mlp("critic_trunk", obs)
        c = self._linear("critic_head", hc)
        return logits, (c.squeeze(-1) if self.critic_kind == "v" else c)

    def logits(self, obs: Tensor) -> Tensor:
        return self._linear("pi_head", self._mlp("actor_trunk", obs))

"""PyTorch peer of scripts/bench-char.ts: the same char-level LSTM configuration,
training (truncated BPTT, Adam, gradient clipping) and sampling throughput.

Run by bench-char.ts with /usr/bin/python3 (Debian python3-torch) and
OPENBLAS_NUM_THREADS=2; torch itself uses one thread. Prints one JSON line.
Not part of npm test.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--hidden', type=int, default=256)
p.add_argument('--layers', type=int, default=2)
p.add_argument('--vocab', type=int, default=65)
p.add_argument('--cell', choices=['lstm', 'rnn'], default='lstm')
p.add_argument('--embed', type=int, default=0, help='0: one-hot input')
p.add_argument('--dropout', type=float, default=0.1)
p.add_argument('--batch', type=int, default=32)
p.add_argument('--seq', type=int, default=64)
p.add_argument('--iters', type=int, default=20)
p.add_argument('--sample-chars', type=int, default=2000)
a = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(1)


class CharRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.embed) if a.embed > 0 else None
        inp = a.embed if a.embed > 0 else a.vocab
        rnn = nn.LSTM if a.cell == 'lstm' else nn.RNN
        self.rnn = rnn(inp, a.hidden, num_layers=a.layers, dropout=a.dropout if a.layers > 1 else 0)
        self.drop = nn.Dropout(a.dropout)
        self.out = nn.Linear(a.hidden, a.vocab)

    def forward(self, ids, state):  # ids: [T, N]
        x = self.embed(ids) if self.embed is not None else F.one_hot(ids, a.vocab).float()
        h, state = self.rnn(x, state)
        return self.out(self.drop(h)), state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


model = CharRNN()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
ids = torch.randint(0, a.vocab, (a.seq * (a.iters + 3) + 1, a.batch))


def clock():
    return time.perf_counter(), time.process_time()


def since(c):
    return time.perf_counter() - c[0], time.process_time() - c[1]


model.train()
state = None
for k in range(a.iters + 2):
    if k == 2:
        t = clock()
    x = ids[k * a.seq:(k + 1) * a.seq]
    y = ids[k * a.seq + 1:(k + 1) * a.seq + 1]
    logits, state = model(x, state)
    state = detach(state)
    loss = F.cross_entropy(logits.reshape(-1, a.vocab), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
train_wall, train_cpu = since(t)
train_chars = a.iters * a.batch * a.seq

model.eval()
with torch.no_grad():
    def sample(n):
        state = None
        x = torch.zeros(1, 1, dtype=torch.long)
        for _ in range(n):
            logits, state = model(x, state)
            probs = F.softmax(logits[-1, 0], dim=-1)
            x = torch.multinomial(probs, 1).view(1, 1)
    sample(50)
    t = clock()
    sample(a.sample_chars)
    sample_wall, sample_cpu = since(t)

print(json.dumps({
    'torch': torch.__version__,
    'train_chars_per_s': train_chars / train_wall,
    'sample_chars_per_s': a.sample_chars / sample_wall,
    'train_cpu_chars_per_s': train_chars / train_cpu,
    'sample_cpu_chars_per_s': a.sample_chars / sample_cpu,
}))

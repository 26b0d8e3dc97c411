// emu_fibers.cc — the execution model of the host emulation (cuda_host.h): a launch's blocks one after
// another; a block's threads as ucontext fibers, run in the chosen order (forward, reverse, or a fresh
// shuffle per block and per release), each until it ends or reaches a barrier. All live threads at
// __syncthreads: all released. All live lanes of a warp at a warp barrier (__syncwarp, a shuffle): that
// warp released. A thread that ends while others wait at __syncthreads, or nothing able to run, is a bug
// in the kernel: reported with the kernel's name and launch site, then abort().
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <random>
#include <vector>

#include "cuda_host.h"

namespace {

enum fiber_state { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct fiber {
	lfm_emu_thread t;
	ucontext_t ctx;
	fiber_state state;
	int started;
};

const size_t STACK_BYTES = 64 * 1024;

struct block_run {
	const char *name, *file;
	int line;
	const std::function<void()> *body;
	std::vector<fiber> fibers;
	std::vector<char *> stacks;
	std::vector<uint64_t> slots; // one per thread: warp exchanges
	std::vector<unsigned char> dynamic_shared;
	ucontext_t scheduler;
	fiber *current = nullptr;
	int order = 0;
	std::mt19937 rng{12345};
};

block_run R;                  // the one launch in progress (launches do not nest)
lfm_emu_thread host_thread;   // what threadIdx reads outside a kernel (zeros)

char *stack_for(size_t i)
{
	while (R.stacks.size() <= i) {
		// a guard page below each stack turns an overflow into a crash, not silent corruption
		char *p = (char *)mmap(nullptr, STACK_BYTES + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("cuda-host: mmap");
			abort();
		}
		mprotect(p, 4096, PROT_NONE);
		R.stacks.push_back(p + 4096);
	}
	return R.stacks[i];
}

void fiber_main()
{
	(*R.body)();
	R.current->state = DONE;
	// returning follows uc_link back to the scheduler
}

[[noreturn]] void kernel_bug(const char *what, const fiber *f, int waiting)
{
	fprintf(stderr,
		"cuda-host: %s (%s:%d): %s: thread (%u,%u,%u) of block (%u,%u,%u)%s%d other threads wait\n", R.name,
		R.file, R.line, what, f->t.tid.x, f->t.tid.y, f->t.tid.z, f->t.bid.x, f->t.bid.y, f->t.bid.z,
		waiting >= 0 ? " while " : "; ", waiting < 0 ? 0 : waiting);
	fflush(stderr);
	abort();
}

void yield_at(fiber_state s)
{
	fiber *f = R.current;
	f->state = s;
	swapcontext(&f->ctx, &R.scheduler);
}

// Out of line: getcontext returns twice, which must not happen in a frame holding live locals.
__attribute__((noinline)) void start_fiber(fiber &f, char *stack)
{
	f.started = 1;
	getcontext(&f.ctx);
	f.ctx.uc_stack.ss_sp = stack;
	f.ctx.uc_stack.ss_size = STACK_BYTES;
	f.ctx.uc_link = &R.scheduler;
	makecontext(&f.ctx, fiber_main, 0);
}

void run_block(dim3 bid, dim3 bdim, dim3 gdim, size_t shared)
{
	size_t n = (size_t)bdim.x * bdim.y * bdim.z;
	R.fibers.assign(n, fiber());
	R.slots.assign(n, 0);
	if (shared) {
		R.dynamic_shared.assign(shared, 0xff); // NaN bytes: a read before a write shows
	}
	for (size_t i = 0; i < n; i++) {
		fiber &f = R.fibers[i];
		f.t.tid = dim3((unsigned)(i % bdim.x), (unsigned)(i / bdim.x % bdim.y), (unsigned)(i / bdim.x / bdim.y));
		f.t.bid = bid;
		f.t.bdim = bdim;
		f.t.gdim = gdim;
		f.t.linear = (int)i;
		f.state = RUNNABLE;
		f.started = 0;
	}
	std::vector<size_t> order(n);
	size_t warps = (n + 31) / 32;
	for (;;) {
		for (size_t i = 0; i < n; i++)
			order[i] = R.order == 1 ? n - 1 - i : i;
		if (R.order == 2)
			std::shuffle(order.begin(), order.end(), R.rng);
		int ran = 0;
		for (size_t k = 0; k < n; k++) {
			fiber &f = R.fibers[order[k]];
			if (f.state != RUNNABLE)
				continue;
			ran = 1;
			R.current = &f;
			if (!f.started)
				start_fiber(f, stack_for(order[k]));
			swapcontext(&R.scheduler, &f.ctx);
			R.current = nullptr;
		}
		(void)ran;
		// release whatever can go on
		size_t done = 0, at_block = 0;
		for (const fiber &f : R.fibers)
			done += f.state == DONE, at_block += f.state == AT_BLOCK_BARRIER;
		if (done == n)
			return;
		int released = 0;
		if (at_block) {
			if (at_block + done == n) {
				if (done) {
					for (const fiber &f : R.fibers)
						if (f.state == DONE)
							kernel_bug("divergent __syncthreads (a thread ended before the barrier)", &f,
								   (int)at_block);
				}
				for (fiber &f : R.fibers)
					f.state = RUNNABLE;
				released = 1;
			}
		}
		for (size_t w = 0; w < warps && !released; w++) {
			size_t lo = w * 32, hi = std::min(n, lo + 32), at_warp = 0, live = 0;
			for (size_t i = lo; i < hi; i++) {
				live += R.fibers[i].state != DONE;
				at_warp += R.fibers[i].state == AT_WARP_BARRIER;
			}
			if (at_warp && at_warp == live) {
				if (live != hi - lo)
					for (size_t i = lo; i < hi; i++)
						if (R.fibers[i].state == DONE)
							kernel_bug("a warp shuffle or __syncwarp with an exited lane", &R.fibers[i],
								   (int)at_warp);
				for (size_t i = lo; i < hi; i++)
					R.fibers[i].state = RUNNABLE;
				released = 1;
			}
		}
		if (!released) {
			for (const fiber &f : R.fibers)
				if (f.state != DONE)
					kernel_bug("deadlock: threads wait at different barriers (__syncthreads in one, a "
						   "warp barrier in another)",
						   &f, -1);
		}
	}
}

} // namespace

lfm_emu_thread *lfm_emu_cur() { return R.current ? &R.current->t : &host_thread; }

int lfm_emu_lane() { return R.current ? R.current->t.linear % 32 : 0; }

void __syncthreads()
{
	if (R.current)
		yield_at(AT_BLOCK_BARRIER);
}

void __syncwarp(unsigned mask)
{
	(void)mask;
	if (R.current)
		yield_at(AT_WARP_BARRIER);
}

uint64_t lfm_emu_warp_exchange(uint64_t mine, int src)
{
	if (!R.current)
		return mine;
	fiber *f = R.current;
	int me = f->t.linear, base = me - me % 32;
	R.slots[me] = mine;
	yield_at(AT_WARP_BARRIER);
	int from = base + src;
	uint64_t got = src >= 0 && src < 32 && from < (int)R.fibers.size() ? R.slots[from] : mine;
	yield_at(AT_WARP_BARRIER);
	return got;
}

void *lfm_emu_dynamic_shared() { return R.dynamic_shared.data(); }

void lfm_emu_run(const char *name, const char *file, int line, dim3 grid, dim3 block, size_t shared,
		 const std::function<void()> &body)
{
	if (R.body) {
		fprintf(stderr, "cuda-host: %s (%s:%d): a launch inside a kernel\n", name, file, line);
		abort();
	}
	size_t threads = (size_t)block.x * block.y * block.z;
	if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
	    grid.z > 65535 || shared > 228 * 1024) {
		fprintf(stderr, "cuda-host: %s (%s:%d): invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u) "
				"shared %zu\n",
			name, file, line, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared);
		lfm_emu_set_error(cudaErrorInvalidConfiguration);
		return;
	}
	R.name = name, R.file = file, R.line = line, R.body = &body;
	for (unsigned z = 0; z < grid.z; z++)
		for (unsigned y = 0; y < grid.y; y++)
			for (unsigned x = 0; x < grid.x; x++)
				run_block(dim3(x, y, z), block, grid, shared);
	R.body = nullptr;
}

extern "C" void lfm_emu_set_thread_order(int order, unsigned seed)
{
	R.order = order < 0 || order > 2 ? 0 : order;
	R.rng.seed(seed);
}

// LFM_EMU_ORDER=forward|reverse|shuffled sets the order for a whole program (tools under the emulation).
static void order_from_environment() __attribute__((constructor));
static void order_from_environment()
{
	const char *o = getenv("LFM_EMU_ORDER");
	if (!o)
		return;
	lfm_emu_set_thread_order(!strcmp(o, "reverse") ? 1 : !strcmp(o, "shuffled") ? 2 : 0, 12345u);
}

//! Operations with a frozen (constant) operand that never materialise a gradient for it.
//!
//! candle's autograd computes and stores a gradient for *both* operands of a matmul or a binary
//! op, even when one of them is a constant: `x.matmul(&w.t())` leaves a `w`-sized tensor in the
//! `GradStore` for every frozen weight (batch × `w`-sized when the weight is broadcast over a
//! non-contiguous input), and `x.broadcast_add(&bias)` an activation-sized one. In LoRA
//! training every base weight is frozen, so that is most of the memory. These ops hold the
//! constant inside a `CustomOp1`, so autograd only sees the input, and their backward returns
//! only the input's gradient.
//!
//! The forward passes call candle's own storage kernels through `BackendStorage`, so the same
//! code runs on CPU and CUDA.

use candle_core::backend::BackendStorage;
use candle_core::op::{Add, BinaryOpT, Mul};
use candle_core::{CpuStorage, CudaStorage, CustomOp1, Layout, Result, Shape, Storage, Tensor};

/// `y = x · Wᵀ` for a frozen `W` of shape `(out, in)`; `x` is `(…, in)`.
pub fn frozen_linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    let x_in = x.dim(candle_core::D::Minus1)?;
    if x_in != inp {
        candle_core::bail!(
            "frozen linear: input has {x_in} features, weight {:?} expects {inp} (out {out})",
            w.dims()
        );
    }
    if x.dtype() != w.dtype() {
        candle_core::bail!(
            "frozen linear: input dtype {:?} differs from weight dtype {:?}",
            x.dtype(),
            w.dtype()
        );
    }
    x.contiguous()?
        .apply_op1(FrozenMatmul { w: w.contiguous()? })
}

/// `y = x ⊙ c` for a frozen `c` broadcastable to `x` (norm weights, RoPE tables).
pub fn frozen_mul(x: &Tensor, c: &Tensor) -> Result<Tensor> {
    check_broadcast(x, c, "frozen mul")?;
    x.apply_op1(FrozenBinary::<Mul> {
        c: c.clone(),
        _op: std::marker::PhantomData,
    })
}

/// `y = x + c` for a frozen `c` broadcastable to `x` (biases, additive attention masks).
pub fn frozen_add(x: &Tensor, c: &Tensor) -> Result<Tensor> {
    check_broadcast(x, c, "frozen add")?;
    x.apply_op1(FrozenBinary::<Add> {
        c: c.clone(),
        _op: std::marker::PhantomData,
    })
}

fn check_broadcast(x: &Tensor, c: &Tensor, op: &str) -> Result<()> {
    if x.dtype() != c.dtype() {
        candle_core::bail!("{op}: dtypes differ ({:?} vs {:?})", x.dtype(), c.dtype());
    }
    // The result must keep x's shape: c may only be stretched, never x.
    let ok = c.rank() <= x.rank()
        && c.dims()
            .iter()
            .rev()
            .zip(x.dims().iter().rev())
            .all(|(&cd, &xd)| cd == xd || cd == 1);
    if !ok {
        candle_core::bail!("{op}: {:?} does not broadcast to {:?}", c.dims(), x.dims());
    }
    Ok(())
}

struct FrozenMatmul {
    /// Contiguous `(out, in)`.
    w: Tensor,
}

impl FrozenMatmul {
    fn fwd<S: BackendStorage>(&self, x: &S, xl: &Layout, w: &S) -> Result<(S, Shape)> {
        let (n, k) = self.w.dims2()?;
        let Some((start, _)) = xl.contiguous_offsets() else {
            candle_core::bail!("frozen linear: input must be contiguous");
        };
        let m = xl.shape().elem_count() / k;
        let lhs = Layout::contiguous_with_offset((m, k), start);
        let rhs = self.w.layout().transpose(0, 1)?;
        let out = x.matmul(w, (1, m, n, k), &lhs, &rhs)?;
        let mut dims = xl.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = n;
        }
        Ok((out, Shape::from(dims)))
    }
}

impl CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        match &*self.w.storage_and_layout().0 {
            Storage::Cpu(w) => self.fwd(s, l, w),
            _ => candle_core::bail!("frozen linear: weight is not on the CPU"),
        }
    }

    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        match &*self.w.storage_and_layout().0 {
            Storage::Cuda(w) => self.fwd(s, l, w),
            _ => candle_core::bail!("frozen linear: weight is not on the CUDA device"),
        }
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // dL/dx = dL/dy · W; W itself gets nothing.
        let (n, k) = self.w.dims2()?;
        let mut dims = grad.dims().to_vec();
        let m = grad.elem_count() / n;
        let gx = grad.contiguous()?.reshape((m, n))?.matmul(&self.w)?;
        if let Some(last) = dims.last_mut() {
            *last = k;
        }
        Ok(Some(gx.reshape(dims)?))
    }
}

struct FrozenBinary<B> {
    c: Tensor,
    _op: std::marker::PhantomData<B>,
}

impl<B: BinaryOpT> FrozenBinary<B> {
    fn fwd<S: BackendStorage>(&self, x: &S, xl: &Layout, c: &S) -> Result<(S, Shape)> {
        let cl = self.c.layout().broadcast_as(xl.shape())?;
        let out = x.binary_impl::<B>(c, xl, &cl)?;
        Ok((out, xl.shape().clone()))
    }
}

macro_rules! frozen_binary_op {
    ($op:ty, $name:literal, |$grad:ident, $c:ident| $bwd:expr) => {
        impl CustomOp1 for FrozenBinary<$op> {
            fn name(&self) -> &'static str {
                $name
            }

            fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
                match &*self.c.storage_and_layout().0 {
                    Storage::Cpu(c) => self.fwd(s, l, c),
                    _ => candle_core::bail!(concat!($name, ": constant is not on the CPU")),
                }
            }

            fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
                match &*self.c.storage_and_layout().0 {
                    Storage::Cuda(c) => self.fwd(s, l, c),
                    _ => candle_core::bail!(concat!($name, ": constant is not on the CUDA device")),
                }
            }

            fn bwd(&self, _x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
                let $grad = grad;
                let $c = &self.c;
                Ok(Some($bwd))
            }
        }
    };
}

// d(x ⊙ c)/dx = c.
frozen_binary_op!(Mul, "frozen-mul", |grad, c| grad.broadcast_mul(c)?);
// d(x + c)/dx = 1. For an additive -inf attention mask this is exact too: softmax sends a zero
// gradient to every masked score.
frozen_binary_op!(Add, "frozen-add", |grad, _c| grad.clone());

/// Total bytes held by a `GradStore`, for memory comparisons.
pub fn grad_store_bytes(grads: &candle_core::backprop::GradStore) -> usize {
    grads
        .get_ids()
        .filter_map(|id| grads.get_id(*id))
        .map(|t| t.elem_count() * t.dtype().size_in_bytes())
        .sum()
}

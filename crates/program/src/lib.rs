//! What a compiled workflow is: a flat instruction vector with a constant pool and
//! a table of field reads ([`Program`]), its operands, a readable disassembly, and
//! a canonical form whose digest is the workflow's version.

#![forbid(unsafe_code)]

mod bytecode;
mod canonical;
mod disasm;
mod operand;
mod slots;

pub use bytecode::{
    ArgKind, BranchPoint, CallSpec, InputSpec, InputType, Op, Pattern, Program, ScheduleSpec,
    StripeArg, StripeSpec, UpdateSpec, DEFAULT_MAX_ACTIONS, DEMAND, SCHEDULE,
};
pub use disasm::disassemble;
pub use operand::{ArithOp, CmpOp, Conv, FieldRead, Func, Lit, Root, Rounding};
pub use slots::{
    same_bytes, Check, Fused, Key, Node, Plan, SlotKind, SlotLayout, SlotSpec, Step, StrKey,
    TypedCond, Within,
};

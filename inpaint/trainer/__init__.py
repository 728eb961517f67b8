"""Training: data, losses, the task-based trainer loop, exact resume, DDP."""

throw new Error("helper failed");

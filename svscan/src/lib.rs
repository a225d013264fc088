//! svscan and svscanboot: supervision of a whole service tree

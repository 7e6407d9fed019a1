"""The simulator's objects in Metrc's v2 read shapes (state-apis.md §2.14, TM-BRU examples).

Business dates are ``YYYY-MM-DD``; ``LastModified`` is an ISO timestamp with
``+00:00``; Decimals stay Decimals until the response encoder turns them into numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.state.metrc import UNITS
from statesim.metrc._seed import Reason, UserKey, WasteMethod
from statesim.metrc._state import (
    Adjustment,
    Harvest,
    HarvestWaste,
    Item,
    License,
    Location,
    Package,
    Plant,
    PlantBatch,
    PlantWaste,
    Strain,
    Tag,
)

Json = dict[str, Any]
_HOLDS = {
    "IsOnHold": False,
    "IsOnInvestigation": False,
    "IsOnInvestigationHold": False,
    "IsOnInvestigationRecall": False,
}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _abbreviation(unit: str | None) -> str | None:
    return UNITS[unit][0] if unit in UNITS else None


def location(loc: Location) -> Json:
    return {
        "Id": loc.id,
        "Name": loc.name,
        "LocationTypeId": None,
        "LocationTypeName": loc.type.name,
        "ForPlantBatches": loc.type.for_plant_batches,
        "ForPlants": loc.type.for_plants,
        "ForHarvests": loc.type.for_harvests,
        "ForPackages": loc.type.for_packages,
    }


def strain(s: Strain) -> Json:
    return {
        "Id": s.id,
        "Name": s.name,
        "TestingStatus": s.testing_status,
        "ThcLevel": s.thc_level,
        "CbdLevel": s.cbd_level,
        "IndicaPercentage": s.indica_percentage,
        "SativaPercentage": s.sativa_percentage,
        "IsUsed": False,
    }


def item(it: Item) -> Json:
    return {
        "Id": it.id,
        "Name": it.name,
        "ProductCategoryName": it.category.name,
        "ProductCategoryType": it.category.product_category_type,
        "QuantityType": it.category.quantity_type,
        "DefaultLabTestingState": "NotSubmitted",
        "UnitOfMeasureName": it.unit_of_measure,
        "ApprovalStatus": "Approved",
        "StrainId": it.strain.id if it.strain else None,
        "StrainName": it.strain.name if it.strain else None,
    }


def tag(t: Tag, lic: License) -> Json:
    medical = "Medical" if "Medical" in lic.license_type else ""
    kind = "Plant" if t.kind == "plant" else "Package"
    return {
        "Id": t.id,
        "GroupTagTypeName": None,
        "TagTypeName": None,
        "GroupTagTypeId": None,
        "TagTypeId": None,
        "TagInventoryTypeName": f"{medical}{kind}",
        "MaxGroupSize": 0,
        "FacilityId": 0,
        "Label": t.label,
    }


def plant_batch(b: PlantBatch) -> Json:
    return {
        "Id": b.id,
        "Name": b.name,
        "PlantBatchTypeId": 1 if b.type == "Seed" else 2,
        "PlantBatchTypeName": b.type,
        "LocationId": b.location.id if b.location else None,
        "LocationName": b.location.name if b.location else None,
        "LocationTypeName": b.location.type.name if b.location else None,
        "StrainId": b.strain.id,
        "StrainName": b.strain.name,
        "SublocationId": None,
        "SublocationName": b.sublocation,
        "PatientLicenseNumber": b.patient_license_number,
        "UntrackedCount": b.untracked,
        "TrackedCount": b.tracked,
        "PackagedCount": b.packaged,
        "DestroyedCount": b.destroyed,
        "SourcePackageId": None,
        "SourcePackageLabel": b.source_package_label,
        "SourcePlantId": None,
        "SourcePlantLabel": None,
        "SourcePlantBatchIds": [],
        "SourcePlantBatchNames": None,
        "MultiPlantBatch": False,
        "PlantedDate": _day(b.planted_date),
        "LastModified": b.last_modified.isoformat(),
        **_HOLDS,
    }


def plant(p: Plant) -> Json:
    return {
        "Id": p.id,
        "Label": p.label,
        "State": p.state,
        "GrowthPhase": p.growth_phase,
        "GroupTagTypeMax": 0,
        "TagTypeMax": 0,
        "PlantBatchId": p.batch.id if p.batch else None,
        "PlantBatchName": p.batch.name if p.batch else None,
        "PlantBatchTypeId": (1 if p.batch.type == "Seed" else 2) if p.batch else None,
        "PlantBatchTypeName": p.batch.type if p.batch else None,
        "StrainId": p.strain.id,
        "StrainName": p.strain.name,
        "LocationId": p.location.id,
        "LocationName": p.location.name,
        "LocationTypeName": p.location.type.name,
        "SublocationId": None,
        "SublocationName": p.sublocation,
        "PatientLicenseNumber": p.patient_license_number,
        "HarvestId": p.harvest_id,
        "HarvestedUnitOfWeightName": p.harvested_unit,
        "HarvestedUnitOfWeightAbbreviation": _abbreviation(p.harvested_unit),
        "HarvestedWetWeight": p.harvested_wet_weight,
        "HarvestCount": p.harvest_count,
        **_HOLDS,
        "IsOnHold": p.is_on_hold,
        "PlantedDate": _day(p.planted_date),
        "VegetativeDate": _day(p.vegetative_date),
        "FloweringDate": _day(p.flowering_date),
        "HarvestedDate": _day(p.harvested_date),
        "DestroyedDate": _day(p.destroyed_date),
        "DestroyedNote": p.destroyed_note,
        "DestroyedByUserName": None,
        "MotherPlantDate": None,
        "ClonedCount": None,
        "SurvivedCount": None,
        "DescendedCount": None,
        "LastModified": p.last_modified.isoformat(),
    }


def harvest(h: Harvest) -> Json:
    return {
        "Id": h.id,
        "Name": h.name,
        "HarvestType": h.harvest_type,
        "SourceStrainCount": len(h.strains),
        "SourceStrainNames": ", ".join(h.strains) or None,
        "Strains": list(h.strains),
        "DryingLocationId": h.drying_location.id,
        "DryingLocationName": h.drying_location.name,
        "DryingSublocationId": None,
        "DryingSublocationName": h.drying_sublocation,
        "DryingLocationTypeName": h.drying_location.type.name,
        "PatientLicenseNumber": h.patient_license_number,
        "CurrentWeight": h.current_weight,
        "TotalWasteWeight": h.total_waste_weight,
        "PlantCount": h.plant_count,
        "TotalWetWeight": h.total_wet_weight,
        "TotalRestoredWeight": 0,
        "PackageCount": h.package_count,
        "TotalPackagedWeight": h.total_packaged_weight,
        "UnitOfWeightName": h.unit,
        "LabTestingState": None,
        "LabTestingStateDate": None,
        **_HOLDS,
        "IsOnHold": h.is_on_hold,
        "HarvestStartDate": _day(h.start_date),
        "FinishedDate": _day(h.finished_date),
        "ArchivedDate": None,
        "LastModified": h.last_modified.isoformat(),
    }


def harvest_waste(w: HarvestWaste) -> Json:
    return {
        "Id": w.id,
        "WasteTypeName": w.waste_type,
        "WasteWeight": w.weight,
        "UnitOfWeightName": w.unit,
        "ActualDate": _day(w.actual_date),
    }


def package(pk: Package) -> Json:
    return {
        "Id": pk.id,
        "Label": pk.label,
        "ExternalId": None,
        "PackageType": "Product",
        "SourceHarvestCount": len(pk.source_harvest_names),
        "SourcePackageCount": 0,
        "SourceProcessingJobCount": 0,
        "SourceHarvestNames": ", ".join(pk.source_harvest_names) or None,
        "SourcePackageLabels": None,
        "LocationId": pk.location.id if pk.location else None,
        "LocationName": pk.location.name if pk.location else None,
        "SublocationId": None,
        "SublocationName": pk.sublocation,
        "LocationTypeName": pk.location.type.name if pk.location else None,
        "Quantity": pk.quantity,
        "OriginalPackageQuantity": pk.original_quantity,
        "UnitOfMeasureName": pk.unit,
        "UnitOfMeasureAbbreviation": _abbreviation(pk.unit),
        "PatientLicenseNumber": pk.patient_license_number,
        "ItemFromFacilityLicenseNumber": None,
        "ItemFromFacilityName": None,
        "Note": pk.note,
        "PackagedDate": _day(pk.packaged_date),
        "ExpirationDate": _day(pk.expiration_date),
        "SellByDate": _day(pk.sell_by_date),
        "UseByDate": _day(pk.use_by_date),
        "InitialLabTestingState": "NotSubmitted",
        "LabTestingState": "NotSubmitted",
        "LabTestingStateDate": _day(pk.packaged_date),
        "IsProductionBatch": pk.is_production_batch,
        "ProductionBatchNumber": pk.production_batch_number,
        "IsTradeSample": pk.is_trade_sample,
        "IsDonation": pk.is_donation,
        "IsTestingSample": False,
        "ProductRequiresRemediation": False,
        "ContainsRemediatedProduct": False,
        "ReceivedDateTime": None,
        "ReceivedFromManifestNumber": None,
        "ReceivedFromFacilityLicenseNumber": None,
        "ReceivedFromFacilityName": None,
        **_HOLDS,
        "IsOnHold": pk.is_on_hold,
        "ArchivedDate": None,
        "IsFinished": pk.finished_date is not None,
        "FinishedDate": _day(pk.finished_date),
        "IsFinishedGood": False,
        "LastModified": pk.last_modified.isoformat(),
        "Item": item(pk.item),
    }


def package_adjustment(a: Adjustment) -> Json:
    return {
        "PackageId": a.package.id,
        "PackageLabel": a.package.label,
        "ItemName": a.package.item.name,
        "ItemCategoryName": a.package.item.category.name,
        "AdjustmentQuantity": a.quantity,
        "AdjustmentUnitOfMeasureName": a.unit,
        "AdjustmentUnitOfMeasureAbbreviation": _abbreviation(a.unit),
        "AdjustmentReasonName": a.reason,
        "AdjustmentNote": a.note or "",
        "AdjustmentDate": _day(a.adjustment_date),
        "PackagedDate": _day(a.package.packaged_date),
        "AdjustedByUserName": a.user_name,
        "PackageLabTestResultExpirationDateTime": None,
    }


def plant_waste(w: PlantWaste) -> Json:
    return {
        "PlantWasteNumber": w.number,
        "WasteMethodName": w.method,
        "WasteWeight": w.weight,
        "WasteUnitOfMeasureName": w.unit,
        "WasteReasonName": w.reason,
        "PlantBatchId": w.batch.id if w.batch else None,
        "PlantBatchName": w.batch.name if w.batch else None,
        "PlantCount": w.plant_count,
        "WasteDate": _day(w.waste_date),
        # Not in Metrc's documented example; kept so a read-back can find an op id.
        "Note": w.note,
    }


def waste_method(m: WasteMethod) -> Json:
    return {
        "Name": m.name,
        "ForPlants": m.for_plants,
        "ForProductDestruction": m.for_product_destruction,
        "LastModified": "0001-01-01T00:00:00+00:00",
    }


def reason(r: Reason) -> Json:
    return {
        "Name": r.name,
        "RequiresNote": r.requires_note,
        "RequiresWasteWeight": r.requires_waste_weight,
        "RequiresImmatureWasteWeight": r.requires_immature_waste_weight,
        "RequiresMatureWasteWeight": r.requires_mature_waste_weight,
    }


def unit_of_measure(name: str) -> Json:
    abbreviation, quantity_type, _ = UNITS[name]
    return {"QuantityType": quantity_type, "Name": name, "Abbreviation": abbreviation}


def facility(lic: License, user: UserKey, index: int) -> Json:
    return {
        "FacilityId": index,
        "HireDate": "0001-01-01",
        "IsOwner": False,
        "IsManager": True,
        "IsFinancialContact": False,
        "Email": None,
        "Occupations": [],
        "Name": lic.name,
        "Alias": lic.name,
        "DisplayName": lic.name,
        "CredentialedDate": "2024-01-01",
        "FacilityType": {
            "IsMedical": "Medical" in lic.license_type,
            "IsRetail": False,
            "CanGrowPlants": True,
            "CanTagPlantBatches": True,
            "CanTrackVegetativePlants": True,
            "CanAssignLocationsToPlantBatches": True,
            "CanAssignLocationsToPackages": True,
            "CanUpdateLocationsOnPackages": True,
            "EnableSublocations": False,
            "CanTrackMotherPlantsAsGrowthPhase": False,
        },
        "License": {
            "Number": lic.number,
            "EmployeeLicenseNumber": user.name,
            "StartDate": "2024-01-01",
            "EndDate": "2099-12-31",
            "LicenseType": lic.license_type,
        },
    }
